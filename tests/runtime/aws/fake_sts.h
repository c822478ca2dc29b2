/* A loopback STS for the tests (on fake_aws_server): answers AssumeRole and
 * AssumeRoleWithWebIdentity the way STS does (the documented response
 * documents, ErrorResponse bodies), and checks what AWS checks: POST to /,
 * form-encoded, Action and Version=2011-06-15, AssumeRole signed with SigV4
 * for service "sts" (the signature recomputed with the signer proven by the
 * AWS suite, from keys it knows), AssumeRoleWithWebIdentity unsigned with a
 * WebIdentityToken. A request that is not so gets a 400 and is noted in
 * `bad`, which the tests assert empty.
 *
 * Issued credentials are numbered: ASIAFAKE000000000001 / SECRET1 / TOKEN1,
 * ... and STS knows them, so a role assumed with an assumed role's keys
 * verifies too. Base keys it knows: AKIDBASE/SECRETBASE, AKIDENV/SECRETENV,
 * AKIDMETA/SECRETMETA. */
#ifndef DORM_FAKE_STS_H
#define DORM_FAKE_STS_H

#include <stdbool.h>

#include "fake_aws_server.h"

typedef struct fake_sts {
  fas *srv;
  /* what to answer (set by the test; read under the server's lock) */
  long expires_in;          /* Expiration = now + this; 3600 by default */
  int errors_left;          /* answer this many errors before succeeding (-1: always) */
  int error_status;         /* 403 */
  char error_code[64];      /* "AccessDenied" */
  char error_body[2048];    /* when set, sent verbatim instead of an ErrorResponse */
  int delay_ms;
  char expect_region[32];   /* the signing region AssumeRole must carry; "" = any */
  /* what it saw */
  int issued;
  long long expiry[256];    /* expiry[n]: when credentials number n expire (a fake DynamoDB checks it) */
  char bad[512];            /* the first malformed request */
  char last_action[64], last_role[256], last_session[128], last_external_id[128], last_duration[16];
  char last_token[256];     /* WebIdentityToken */
  char last_signer[64];     /* access key id that signed the last AssumeRole */
  char last_region[32];     /* its credential scope's region */
} fake_sts;

/* Starts the server; false on failure. */
bool fake_sts_start(fake_sts *f);
void fake_sts_stop(fake_sts *f);

#endif
