/* dorm_accounts: clients that work in other AWS accounts through their
 * roles (multi-account access, as DynamORM's NewMultiAccount / Partner).
 *
 * A SaaS that writes into its customers' tables registers one role per
 * customer (the role ARN the customer created, the ExternalId agreed with
 * them) and asks for a client by name:
 *
 *   dorm_accounts *acc;
 *   dorm_accounts_new(NULL, &acc, err, sizeof err);   // base credentials: the usual chain
 *   dorm_role_config r = DORM_ROLE_CONFIG_INIT;
 *   r.role_arn = "arn:aws:iam::111122223333:role/dorm-partner";
 *   r.external_id = "partner-7f3a";
 *   r.region = "eu-west-1";
 *   dorm_accounts_add(acc, "partner-a", &r, err, sizeof err);
 *   dorm_client *c;
 *   dorm_accounts_client(acc, "partner-a", &c, err, sizeof err);   // works in 111122223333
 *   ...
 *   dorm_client_free(c);
 *   dorm_accounts_free(acc);
 *
 * The base credentials (from base's configuration, resolved like
 * dorm_client_new's) call STS AssumeRole. The role's credentials are cached
 * per role and shared by every client made for it; they are refreshed 5
 * minutes before they expire, by one thread while the others keep using
 * the current ones. The STS endpoint is the role's region's
 * (AWS_STS_REGIONAL_ENDPOINTS and AWS_ENDPOINT_URL_STS apply).
 *
 * Threads: a dorm_accounts may be used from any number of threads; each
 * client it makes is used by one thread at a time, like any dorm_client.
 * Clients hold their own reference to the role's credentials, so they may
 * outlive the dorm_accounts.
 */
#ifndef DORM_ACCOUNTS_H
#define DORM_ACCOUNTS_H

#include "dorm/export.h"

#include <stddef.h>

#include "dorm/client.h"
#include "dorm/config.h"
#include "dorm/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dorm_role_config {
  const char *role_arn;      /* required: "arn:aws:iam::<account>:role/<name>" */
  const char *external_id;   /* NULL: none; the ExternalId the role's trust policy requires */
  const char *region;        /* NULL: the base configuration's region */
  const char *session_name;  /* NULL: "dorm-<account id>"; 2-64 of [A-Za-z0-9+=,.@_-] */
  int duration_seconds;      /* 0: 3600; else 900 to 43200 (the role's maximum applies) */
} dorm_role_config;

#define DORM_ROLE_CONFIG_INIT {NULL, NULL, NULL, NULL, 0}

typedef struct dorm_accounts dorm_accounts;

/* Resolves base (borrowed; NULL = everything from the environment) and its
 * credential source, as dorm_client_new does; nothing is fetched yet.
 * Errors as dorm_client_new's, in errbuf. */
DORM_API dorm_status dorm_accounts_new(const dorm_config *base, dorm_accounts **out, char *errbuf, size_t errcap);

/* Registers role under name (both copied). DORM_ERR_INVALID_ARGUMENT for a
 * missing or malformed role ARN, a bad session name or duration, or a name
 * already registered; DORM_ERR_CONFIG when no STS endpoint can be resolved. */
DORM_API dorm_status dorm_accounts_add(dorm_accounts *a, const char *name, const dorm_role_config *role,
                                       char *errbuf, size_t errcap);

/* A new client that works with the role registered as name (the caller
 * frees it with dorm_client_free). DORM_ERR_NOT_FOUND when no role has that
 * name; otherwise dorm_client_new's errors. Credentials are fetched on the
 * client's first request; a failure to assume the role is reported there
 * through dorm_client_errmsg (naming the role, STS's error code and message). */
DORM_API dorm_status dorm_accounts_client(dorm_accounts *a, const char *name, dorm_client **out, char *errbuf,
                                          size_t errcap);

/* Frees the registry. Clients made from it stay usable. NULL is ignored. */
DORM_API void dorm_accounts_free(dorm_accounts *a);

#ifdef __cplusplus
}
#endif
#endif
