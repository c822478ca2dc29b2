/* Transactions across models: typed actions collected in the arena and sent
 * as one TransactWriteItems (atomic, up to 100 actions; DynamORM's
 * "transactions" are neither). */
#include <stdio.h>
#include <string.h>

#include "model_internal.h"

/* The transaction's first error (status and message) wins. */
#define txfail(tx, st, ...) dorm__fail_first(&(tx)->status, (tx)->err, sizeof (tx)->err, (st), __VA_ARGS__)

/* Actions whose @encrypted fields the commit seals (tx->priv): the items of
 * puts are built with those fields in plaintext, and updates hold them so,
 * until dorm_tx_commit has the client and its dorm_crypt. */
typedef struct tx_enc {
  const dorm_model_desc *m;
  dorm_av *item;         /* a put's item, or NULL */
  dorm_model_update *u;  /* an update, or NULL */
  bool done;
} tx_enc;
typedef struct tx_encs {
  tx_enc *v;
  size_t n, cap;
} tx_encs;

static dorm_status remember_enc(dorm_tx *tx, const dorm_model_desc *m, dorm_av *item, dorm_model_update *u) {
  tx_encs *e = tx->priv;
  if (!e && !(e = tx->priv = dorm_arena_calloc(tx->a, 1, sizeof *e))) return txfail(tx, DORM_ERR_NO_MEMORY, "out of memory");
  if (e->n == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 4;
    tx_enc *v = dorm_arena_realloc(tx->a, e->v, e->cap * sizeof *v, cap * sizeof *v);
    if (!v) return txfail(tx, DORM_ERR_NO_MEMORY, "out of memory");
    e->v = v;
    e->cap = cap;
  }
  e->v[e->n++] = (tx_enc){m, item, u, false};
  return DORM_OK;
}

/* Seals every remembered action through the client's dorm_crypt; nothing
 * is sent when one fails. */
static dorm_status seal_actions(dorm_client *c, const char *op, dorm_tx *tx) {
  tx_encs *e = tx->priv;
  for (size_t i = 0; e && i < e->n; i++) {
    tx_enc *t = &e->v[i];
    if (t->done) continue;
    dorm_crypt *k;
    dorm_status st = dorm__model_crypt_for(c, op, t->m, &k);
    if (st != DORM_OK) return st;
    if (t->u) {
      char err[512];
      if ((st = dorm__model_update_encrypt(t->u, k, err, sizeof err)) != DORM_OK)
        return dorm__client_fail(c, st, op, "%s", err);
    } else {
      const char *attrs[64];
      size_t n = 0;
      for (uint32_t f = 0; f < t->m->nfields; f++) {
        if (!(t->m->fields[f].flags & DORM_FF_ENCRYPTED)) continue;
        attrs[n++] = field_attr(&t->m->fields[f], t->m->naming);
        if (n == sizeof attrs / sizeof attrs[0] || f + 1 == t->m->nfields) {
          if ((st = dorm_crypt_encrypt_item(k, t->item, attrs, n, tx->a)) != DORM_OK) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s", dorm_client_errmsg(c));
            return dorm__client_fail(c, st, op, "%s: %s", t->m->name, msg);
          }
          n = 0;
        }
      }
      if (n && (st = dorm_crypt_encrypt_item(k, t->item, attrs, n, tx->a)) != DORM_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", dorm_client_errmsg(c));
        return dorm__client_fail(c, st, op, "%s: %s", t->m->name, msg);
      }
    }
    t->done = true;
  }
  return DORM_OK;
}

void dorm_tx_init(dorm_tx *tx, dorm_arena *a) {
  memset(tx, 0, sizeof *tx);
  tx->a = a;
  if (!a) txfail(tx, DORM_ERR_INVALID_ARGUMENT, "dorm_tx_init: an arena is required");
}

/* A new zeroed action slot, or NULL (error recorded). */
static dorm_tx_write *add_action(dorm_tx *tx, const dorm_model_desc *m, const void *obj, const char *what) {
  if (tx->status != DORM_OK) return NULL;
  if (!m || !obj) {
    txfail(tx, DORM_ERR_INVALID_ARGUMENT, "action %zu (%s): a model and an object are required", tx->count, what);
    return NULL;
  }
  if (tx->count >= DORM_TX_MAX_ACTIONS) {
    txfail(tx, DORM_ERR_INVALID_ARGUMENT, "a transaction holds at most %d actions", DORM_TX_MAX_ACTIONS);
    return NULL;
  }
  if (tx->count == tx->cap) {
    size_t cap = tx->cap ? tx->cap * 2 : 8;
    dorm_tx_write *n = dorm_arena_realloc(tx->a, tx->actions, tx->cap * sizeof *n, cap * sizeof *n);
    if (!n) {
      txfail(tx, DORM_ERR_NO_MEMORY, "out of memory");
      return NULL;
    }
    tx->actions = n;
    tx->cap = cap;
  }
  dorm_tx_write *t = &tx->actions[tx->count];
  memset(t, 0, sizeof *t);
  t->table = m->table;
  return t;
}

/* "Issue PK=TENANT#t1, SK=ISSUE#42": the model and the table key of an
 * action, for the message when the transaction is cancelled (NULL when out
 * of memory: the message then names the key alone). */
static const char *label_of(dorm_tx *tx, const dorm_model_desc *m, const dorm_av *item_or_key) {
  char key[256];
  dorm__model_key_text(m, item_or_key, key, sizeof key);
  return dorm_arena_printf(tx->a, "%s%s%s", m->name, key[0] ? " " : "", key);
}

static dorm_av *key_for(dorm_tx *tx, const dorm_model_desc *m, const void *key_obj, size_t i, const char *what) {
  dorm_av *key = dorm_arena_alloc(tx->a, sizeof *key);
  char err[200];
  if (!key) {
    txfail(tx, DORM_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  dorm_status st = dorm_model_key_av(m, key_obj, tx->a, key, err, sizeof err);
  if (st != DORM_OK) {
    txfail(tx, st, "action %zu (%s): %s", i, what, err);
    return NULL;
  }
  return key;
}

/* The builder of an action: the caller's, or a new one in the arena. */
static dorm_expr *expr_for(dorm_tx *tx, const dorm_write_opts *o, size_t i, const char *what) {
  if (o && o->condition && !o->expr) {
    txfail(tx, DORM_ERR_INVALID_ARGUMENT, "action %zu (%s): a condition needs the builder it was made with", i, what);
    return NULL;
  }
  if (o && o->expr) return o->expr;
  dorm_expr *x = dorm_arena_alloc(tx->a, sizeof *x);
  if (!x) {
    txfail(tx, DORM_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  dorm_expr_init(x, tx->a);
  return x;
}

static dorm_status attach(dorm_tx *tx, dorm_expr *x, dorm_cond *own, dorm_cond *user, size_t i, const char *what) {
  if (dorm__model_attach_condition(x, own, user) != DORM_OK)
    return txfail(tx, dorm_expr_status(x), "action %zu (%s): %s", i, what, dorm_expr_errmsg(x));
  return DORM_OK;
}

dorm_status dorm_tx_put(dorm_tx *tx, const dorm_model_desc *m, void *obj, bool create, const dorm_write_opts *o) {
  const char *what = create ? "create" : "put";
  dorm_tx_write *t = add_action(tx, m, obj, what);
  if (!t) return tx->status;
  size_t i = tx->count;
  model_lifecycle_save saved;
  dorm__model_lifecycle_put(m, obj, dorm_time_now(), &saved);
  dorm_av *item = dorm_arena_alloc(tx->a, sizeof *item);
  char err[200];
  /* encrypted fields stay plaintext here, in the arena only, until the commit seals them */
  dorm_status st = item ? dorm__model_item_av(m, obj, NULL, m->encrypted_fields != 0, tx->a, item, err, sizeof err)
                        : DORM_ERR_NO_MEMORY;
  if (st == DORM_OK && m->encrypted_fields && remember_enc(tx, m, item, NULL) != DORM_OK) return tx->status;
  if (st != DORM_OK) {
    dorm__model_lifecycle_restore(m, obj, &saved);
    return txfail(tx, st, "action %zu (%s %s): %s", i, what, m->name, item ? err : "out of memory");
  }
  t->kind = DORM_TX_PUT;
  t->item = item;
  t->label = label_of(tx, m, item);
  if (create || (o && (o->condition || o->expr))) {
    dorm_expr *x = expr_for(tx, o, i, what);
    if (!x) return tx->status;
    if (attach(tx, x, create ? dorm__model_pk_cond(x, m, false) : NULL, o ? o->condition : NULL, i, what) != DORM_OK)
      return tx->status;
    t->expr = x;
  }
  tx->count++;
  return DORM_OK;
}

dorm_status dorm_tx_update(dorm_tx *tx, const dorm_model_desc *m, const void *key_obj, dorm_model_update *u,
                           const dorm_write_opts *o) {
  dorm_tx_write *t = add_action(tx, m, key_obj, "update");
  if (!t) return tx->status;
  size_t i = tx->count;
  if (!u) return txfail(tx, DORM_ERR_INVALID_ARGUMENT, "action %zu (update %s): no update given", i, m->name);
  if (u->m != m)
    return txfail(tx, DORM_ERR_INVALID_ARGUMENT, "action %zu (update %s): the update was started for another model", i,
                  m->name);
  if (dorm__model_update_finish(u, key_obj, o, dorm_time_now()) != DORM_OK)
    return txfail(tx, u->status, "action %zu (update %s): %s", i, m->name, u->err);
  dorm_av *key = key_for(tx, m, key_obj, i, "update");
  if (!key) return tx->status;
  if (dorm__model_update_needs_crypt(u) && remember_enc(tx, m, NULL, u) != DORM_OK) return tx->status;
  t->kind = DORM_TX_UPDATE;
  t->key = key;
  t->label = label_of(tx, m, key);
  t->expr = &u->x;
  tx->count++;
  return DORM_OK;
}

dorm_status dorm_tx_delete(dorm_tx *tx, const dorm_model_desc *m, const void *key_obj, const dorm_write_opts *o) {
  dorm_tx_write *t = add_action(tx, m, key_obj, "delete");
  if (!t) return tx->status;
  size_t i = tx->count;
  if (o && o->check_version && m->version < 0)
    return txfail(tx, DORM_ERR_INVALID_ARGUMENT, "action %zu (delete %s): the model has no @version field", i, m->name);
  dorm_av *key = key_for(tx, m, key_obj, i, "delete");
  if (!key) return tx->status;
  t->kind = DORM_TX_DELETE;
  t->key = key;
  t->label = label_of(tx, m, key);
  if (o && (o->condition || o->expr || o->check_version)) {
    dorm_expr *x = expr_for(tx, o, i, "delete");
    if (!x) return tx->status;
    dorm_cond *own = o->check_version ? dorm__model_version_cond(x, m, o->expected_version) : NULL;
    if (attach(tx, x, own, o->condition, i, "delete") != DORM_OK) return tx->status;
    t->expr = x;
  }
  tx->count++;
  return DORM_OK;
}

dorm_status dorm_tx_check(dorm_tx *tx, const dorm_model_desc *m, const void *key_obj, const dorm_write_opts *o) {
  dorm_tx_write *t = add_action(tx, m, key_obj, "check");
  if (!t) return tx->status;
  size_t i = tx->count;
  if (!o || !o->condition || !o->expr)
    return txfail(tx, DORM_ERR_INVALID_ARGUMENT, "action %zu (check %s): a condition and its builder are required", i,
                  m->name);
  dorm_av *key = key_for(tx, m, key_obj, i, "check");
  if (!key) return tx->status;
  dorm_cond *own = o->check_version && m->version >= 0 ? dorm__model_version_cond(o->expr, m, o->expected_version) : NULL;
  if (attach(tx, o->expr, own, o->condition, i, "check") != DORM_OK) return tx->status;
  t->kind = DORM_TX_CONDITION_CHECK;
  t->key = key;
  t->label = label_of(tx, m, key);
  t->expr = o->expr;
  tx->count++;
  return DORM_OK;
}

dorm_status dorm_tx_commit(dorm_client *c, dorm_tx *tx, size_t *failed_index) {
  static const char op[] = "TransactWriteItems";
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  if (failed_index) *failed_index = SIZE_MAX;
  dorm__client_clear_error(c);
  if (!tx) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "no transaction given");
  if (tx->status != DORM_OK) return dorm__client_fail(c, tx->status, op, "%s", tx->err);
  if (tx->count == 0) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "the transaction has no actions");
  dorm_status st = seal_actions(c, op, tx);
  if (st != DORM_OK) return st;
  return dorm_transact_write(c, tx->actions, tx->count, NULL, failed_index);
}
