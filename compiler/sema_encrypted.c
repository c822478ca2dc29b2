/* sema_encrypted: the @encrypted field attribute (issue 15).
 *
 * An encrypted field is stored as DynamORM's envelope, a map whose content
 * DynamoDB cannot see. So everything DynamoDB itself must read is refused
 * here, as DynamORM's registry refuses it: table and index keys (compared
 * and hashed by DynamoDB), key-template placeholders (the key would carry
 * the value in plaintext), sets (changed in place by ADD/DELETE), lifecycle
 * roles (the library fills and compares them in expressions; TTL needs a
 * plain number), and defaults (a migration backfills them in plaintext). */
#include <ctype.h>
#include <string.h>

#include "sema_int.h"

/* A KMS key as KMS's KeyId takes it: a key or alias ARN, "alias/name", a
 * key id or a multi-Region key id. Anything else would only fail at run
 * time, in the first write. */
static bool hex_dashes(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isxdigit((unsigned char)s[i]) && s[i] != '-') return false;
  return true;
}

static bool kms_key_ok(const char *k) {
  size_t n = strlen(k);
  if (!strncmp(k, "arn:", 4)) return strstr(k, ":kms:") && (strstr(k, ":key/") || strstr(k, ":alias/"));
  if (!strncmp(k, "alias/", 6)) {
    if (n == 6 || n > 256 || !strncmp(k, "alias/aws/", 10)) return false;
    for (const char *p = k + 6; *p; p++)
      if (!isalnum((unsigned char)*p) && !strchr("/_-", *p)) return false;
    return true;
  }
  if (!strncmp(k, "mrk-", 4)) return n == 36 && hex_dashes(k + 4, 32);
  return n == 36 && hex_dashes(k, n);
}

void sema_encrypted_attr(sema *S, const ast_attr *at, dormc_field *f, bool model_field, const char *owner_desc) {
  if (!model_field) {
    diag_error(S->c, at->loc, "@encrypted is only allowed on model fields, not in %s", owner_desc);
    return;
  }
  const char *key = NULL;
  if (at->args) {
    const ast_value *v = at->args->n == 1 ? at->args->items[0] : NULL;
    if (!v || v->kind != AST_V_STRING) {
      diag_error(S->c, at->loc,
                 "@encrypted takes nothing (the KMS key is configured at run time) or the KMS key: "
                 "@encrypted(\"alias/orders\")");
      return;
    }
    if (!kms_key_ok(v->text)) {
      diag_error(S->c, v->loc,
                 "'%s' is not a KMS key: write a key ARN, an alias ARN, \"alias/name\" (not an AWS managed "
                 "alias/aws/...) or a key id",
                 v->text);
      return;
    }
    key = v->text;
  }
  f->encrypted = true;
  f->kms_key = key;
  f->encrypted_loc = at->loc;
}

/* The index (or "the table") whose key attribute attr is. */
static const char *key_owner(sema *S, const dormc_table *t, const char *attr) {
  if (!t) return "the table";
  if ((t->pk.attr && !strcmp(t->pk.attr, attr)) || (t->sk.attr && !strcmp(t->sk.attr, attr))) return "the table";
  for (size_t i = 0; i < t->ngsis + t->nlsis; i++) {
    const dormc_index *x = i < t->ngsis ? &t->gsis[i] : &t->lsis[i - t->ngsis];
    if ((x->pk.attr && !strcmp(x->pk.attr, attr)) || (x->sk.attr && !strcmp(x->sk.attr, attr)))
      return arena_printf(S->a, "index '%s'", x->name);
  }
  return "an index";
}

static void refuse_roles(sema *S, const dormc_field *f) {
  static const struct {
    unsigned bit;
    const char *role, *why;
  } roles[] = {
      {DORMC_ROLE_PK, "pk", "DynamoDB hashes and compares key attributes, which an envelope hides"},
      {DORMC_ROLE_SK, "sk", "DynamoDB hashes and compares key attributes, which an envelope hides"},
      {DORMC_ROLE_CREATED_AT, "created_at", "the library fills it in update expressions (if_not_exists)"},
      {DORMC_ROLE_UPDATED_AT, "updated_at", "the library fills it in every update expression"},
      {DORMC_ROLE_VERSION, "version", "the optimistic lock compares it in conditions and adds 1 in updates"},
      {DORMC_ROLE_TTL, "ttl", "DynamoDB's TTL reads a plain number"},
  };
  for (size_t i = 0; i < sizeof roles / sizeof *roles; i++) {
    if (!(f->roles & roles[i].bit)) continue;
    diag_error(S->c, f->encrypted_loc, "field '%s' cannot be both @%s and @encrypted: %s", f->name, roles[i].role,
               roles[i].why);
  }
}

static void check_field(sema *S, const dormc_model *m, const dormc_field *f) {
  refuse_roles(S, f);
  if (f->type.kind == DORMC_T_SET)
    diag_error(S->c, f->encrypted_loc,
               "encrypted field '%s' cannot be a set: sets are changed in place with ADD and DELETE, which "
               "DynamoDB cannot apply to an envelope; use list<...>",
               f->name);
  if (f->dflt) {
    diag_error(S->c, f->encrypted_loc,
               "encrypted field '%s' cannot have a default: a migration backfills defaults in plaintext", f->name);
    diag_note(S->c, f->dflt->loc, "the default is here");
  }
  if (m->table && m->table->ttl_attr && !(f->roles & DORMC_ROLE_TTL) && !strcmp(f->attr, m->table->ttl_attr))
    diag_error(S->c, f->encrypted_loc,
               "encrypted field '%s' is stored as '%s', the table's TTL attribute: DynamoDB's TTL reads a plain "
               "number",
               f->name, f->attr);
  if (f->roles & (DORMC_ROLE_PK | DORMC_ROLE_SK)) return; /* said once, above */
  for (size_t i = 0; i < m->nbindings; i++) {
    const dormc_key_binding *b = &m->bindings[i];
    if (b->field == f) {
      diag_error(S->c, f->encrypted_loc,
                 "encrypted field '%s' fills key attribute '%s' of %s: DynamoDB hashes and compares key "
                 "attributes, which an envelope hides",
                 f->name, b->attr, key_owner(S, m->table, b->attr));
      continue;
    }
    for (size_t k = 0; k < b->nparts; k++) {
      if (b->parts[k].kind != DORMC_TPL_FIELD || b->parts[k].field != f) continue;
      diag_error(S->c, f->encrypted_loc,
                 "encrypted field '%s' is a placeholder of key template '%s': the key attribute would hold it in "
                 "plaintext",
                 f->name, b->attr);
      diag_note(S->c, b->loc, "the template is here");
      break;
    }
  }
}

void sema_encrypted_models(sema *S) {
  for (size_t i = 0; i < S->nmodels; i++) {
    const dormc_model *m = &S->models[i];
    const dormc_field *keyed = NULL; /* the first field naming a KMS key */
    for (size_t j = 0; j < m->nfields; j++) {
      const dormc_field *f = &m->fields[j];
      if (!f->encrypted) continue;
      check_field(S, m, f);
      /* One model, one key: the encryption context (and its data-key
       * cache) is per model, as DynamORM's KMSKeyARN is per session. */
      if (!f->kms_key) continue;
      if (!keyed) {
        keyed = f;
      } else if (strcmp(keyed->kms_key, f->kms_key) != 0) {
        diag_error(S->c, f->encrypted_loc, "model '%s' encrypts with two KMS keys ('%s' and '%s'); use one key per model",
                   m->name, keyed->kms_key, f->kms_key);
        diag_note(S->c, keyed->encrypted_loc, "'%s' names '%s' here", keyed->name, keyed->kms_key);
      }
    }
  }
}
