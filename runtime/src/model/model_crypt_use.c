/* model_crypt_use: the dorm_crypt a client carries for the model layer
 * (dorm/crypt.h, issue 15).
 *
 * The client (aws layer) keeps the context as an opaque attachment and frees
 * it through the function given here, so the layers' arrows still point
 * down. Every model operation on a model with encrypted fields asks
 * dorm__model_crypt_for first, before anything is built or sent: without a
 * context it fails closed. */
#include <stdlib.h>
#include <string.h>

#include "dorm/crypt.h"
#include "model_crypt.h"
#include "model_internal.h"

static void free_attached(void *k) { dorm_crypt_free(k); }

dorm_status dorm_client_set_crypt(dorm_client *c, dorm_crypt *k) {
  static const char op[] = "dorm_client_set_crypt";
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  if (k && dorm__crypt_client(k) != c)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op,
                             "the dorm_crypt was made for another client (its KMS calls and errors go through that one)");
  dorm_crypt *old = dorm__client_attachment(c);
  if (old == k) return DORM_OK;
  dorm__client_attach(c, k, free_attached);
  dorm_crypt_free(old); /* no longer attached: it does not detach k */
  return DORM_OK;
}

dorm_crypt *dorm_client_crypt(dorm_client *c) { return c ? dorm__client_attachment(c) : NULL; }

dorm_status dorm_crypt_enable(dorm_client *c, const dorm_model_desc *m, const dorm_crypt_opts *o) {
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  dorm_crypt_opts opts = {0};
  if (o) opts = *o;
  if ((!opts.kms_key_id || !*opts.kms_key_id) && m && m->kms_key) opts.kms_key_id = m->kms_key;
  dorm_crypt *k = NULL;
  dorm_status st = dorm_crypt_new(c, &opts, &k);
  if (st != DORM_OK) return st; /* reported through c */
  /* kms_key_id may name the schema's key another way (its ARN, another
   * alias of it): the context still serves that schema key's models. */
  if (m && m->kms_key && !dorm__crypt_set_schema_key(k, m->kms_key)) {
    dorm_crypt_free(k);
    return dorm__client_fail(c, DORM_ERR_NO_MEMORY, "dorm_crypt_enable", "out of memory");
  }
  return dorm_client_set_crypt(c, k);
}

dorm_status dorm__model_crypt_for(dorm_client *c, const char *op, const dorm_model_desc *m, dorm_crypt **k) {
  *k = NULL;
  if (!m || m->encrypted_fields == 0) return DORM_OK;
  *k = dorm__client_attachment(c);
  if (*k) {
    /* A context for another schema key would seal this model's fields under
     * the wrong KMS key: readable by that key's users, not by this one's. */
    if (dorm__crypt_serves(*k, m->kms_key)) return DORM_OK;
    const char *key_id = dorm_crypt_key_id(*k);
    *k = NULL;
    return dorm__client_fail(c, DORM_ERR_ENCRYPTION_NOT_CONFIGURED, op,
                             "%s's @encrypted fields use the KMS key %s (its schema's), and the client's dorm_crypt "
                             "uses %s: one KMS key per client, so give %s a client of its own (dorm_crypt_enable with "
                             "its descriptor); nothing was sent",
                             m->name, m->kms_key, key_id, m->name);
  }
  const char *field = "";
  for (uint32_t i = 0; i < m->nfields; i++)
    if (m->fields[i].flags & DORM_FF_ENCRYPTED) {
      field = m->fields[i].name;
      break;
    }
  return dorm__client_fail(c, DORM_ERR_ENCRYPTION_NOT_CONFIGURED, op,
                           "%s.%s is @encrypted and the client has no KMS key to use (dorm_crypt_enable or "
                           "dorm_client_set_crypt, dorm/crypt.h); nothing was sent",
                           m->name, field);
}

dorm_status dorm_crypt_model_from_av(dorm_client *c, const dorm_model_desc *m, const dorm_av *item, unsigned flags,
                                     dorm_arena *a, void *obj) {
  static const char op[] = "dorm_crypt_model_from_av";
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  dorm__client_clear_error(c);
  if (!m || !item || !a || !obj)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "model, item, arena and object are required");
  dorm_crypt *k;
  dorm_status st = dorm__model_crypt_for(c, op, m, &k);
  if (st != DORM_OK) return st;
  char err[512];
  st = dorm__model_read_item_k(m, item, flags & DORM_READ_PARTIAL, k, a, obj, err, sizeof err);
  return st == DORM_OK ? DORM_OK : dorm__client_fail(c, st, op, "%s", err);
}
