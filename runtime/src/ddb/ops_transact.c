/* TransactWriteItems and TransactGetItems. */
#include "ops_common.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* DynamoDB's bound on ClientRequestToken. */
#define TX_TOKEN_MAX 36

static const char *kind_name(dorm_tx_kind k) {
  switch (k) {
  case DORM_TX_PUT: return "Put";
  case DORM_TX_UPDATE: return "Update";
  case DORM_TX_DELETE: return "Delete";
  case DORM_TX_CONDITION_CHECK: return "ConditionCheck";
  default: return NULL;
  }
}

/* Checks which expressions an action's builder carries: `need_*` must be
 * set, the others must not (a Put has no UpdateExpression, no action has a
 * filter). Renders the update text first. */
static dorm_status check_action_expr(dorm_client *c, const char *op, size_t i, const char *what,
                                     const char *table, dorm_expr *x, bool allow_update, bool need_update,
                                     bool allow_condition, bool need_condition, bool allow_projection) {
  if (!x) {
    if (need_update || need_condition)
      return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "action %zu (%s on %s): %s expression is required",
                              i, what, table, need_update ? "an update" : "a condition");
    return DORM_OK;
  }
  if (dorm_expr_status(x) == DORM_OK) dorm_expr_finish(x);
  if (dorm_expr_status(x) != DORM_OK)
    return dorm__client_fail(c, dorm_expr_status(x), op, "action %zu (%s on %s): expression: %s", i, what, table,
                            dorm_expr_errmsg(x));
  const char *bad = NULL;
  if (x->key_condition) bad = "a key condition";
  else if (x->filter) bad = "a filter";
  else if (x->projection && !allow_projection) bad = "a projection";
  else if (x->update && !allow_update) bad = "update actions";
  else if (x->condition && !allow_condition) bad = "a condition";
  if (bad)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "action %zu (%s on %s): %s cannot have %s", i,
                            what, table, what, bad);
  if ((need_update && !x->update) || (need_condition && !x->condition))
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "action %zu (%s on %s): %s expression is required",
                            i, what, table, need_update ? "an update" : "a condition");
  return DORM_OK;
}

static dorm_status check_write(dorm_client *c, const char *op, size_t i, const dorm_tx_write *t) {
  const char *what = kind_name(t->kind);
  if (!what)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "action %zu: unknown kind %d", i, (int)t->kind);
  if (!t->table || !*t->table)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "action %zu (%s): no table name", i, what);
  char label[64];
  dorm_status st;
  if (t->kind == DORM_TX_PUT) {
    snprintf(label, sizeof label, "action %zu (Put) item", i);
    st = dorm__ops_check_item(c, op, t->item, label);
  } else {
    snprintf(label, sizeof label, "action %zu (%s) key", i, what);
    st = dorm__ops_check_item(c, op, t->key, label);
  }
  if (st != DORM_OK) return st;
  switch (t->kind) {
  case DORM_TX_UPDATE: return check_action_expr(c, op, i, what, t->table, t->expr, true, true, true, false, false);
  case DORM_TX_CONDITION_CHECK:
    return check_action_expr(c, op, i, what, t->table, t->expr, false, false, true, true, false);
  default: return check_action_expr(c, op, i, what, t->table, t->expr, false, false, true, false, false);
  }
}

static void write_action(dorm_jw *w, size_t i, const dorm_tx_write *t) {
  const char *what = kind_name(t->kind);
  char where[64];
  dorm__jw_begin_object(w);
  dorm__jw_key(w, what);
  dorm__jw_begin_object(w);
  dorm__jw_member_string(w, "TableName", t->table);
  if (t->kind == DORM_TX_PUT) {
    snprintf(where, sizeof where, "TransactItems[%zu].Put.Item", i);
    dorm__jw_key(w, "Item");
    dorm__jw_item(w, t->item, where);
  } else {
    snprintf(where, sizeof where, "TransactItems[%zu].%s.Key", i, what);
    dorm__jw_key(w, "Key");
    dorm__jw_item(w, t->key, where);
  }
  if (t->expr) dorm__jw_expr(w, t->expr);
  if (t->return_old_on_condition_failure)
    dorm__jw_member_string(w, "ReturnValuesOnConditionCheckFailure", "ALL_OLD");
  dorm__jw_end_object(w);
  dorm__jw_end_object(w);
}

/* Writes "<Kind> <what> on <table>" for action i of an action array into buf. */
typedef const char *(*label_fn)(const void *actions, size_t i, char *buf, size_t cap);

/* After a cancelled transaction: the status, as DynamORM's Go SDK maps it
 * (ErrConditionFailed when any action's reason is ConditionalCheckFailed,
 * else ErrTransactionFailed), and the client's error rewritten to name the
 * action that failed (the first ConditionalCheckFailed one, else the first
 * whose reason is not None) and why. *failed gets that action's index, or
 * SIZE_MAX when the response gave no reason. The reasons stay available
 * (dorm_client_cancel_reasons). */
static dorm_status describe_cancellation(dorm_client *c, const char *op, size_t n, label_fn label, const void *actions,
                                         size_t *failed) {
  const dorm_cancel_reason *r;
  size_t nr = dorm_client_cancel_reasons(c, &r);
  size_t first = SIZE_MAX, cond = SIZE_MAX, others = 0;
  for (size_t k = 0; k < nr; k++) {
    if (strcmp(r[k].code, "None") == 0) continue;
    others++;
    if (first == SIZE_MAX) first = k;
    if (cond == SIZE_MAX && strcmp(r[k].code, "ConditionalCheckFailed") == 0) cond = k;
  }
  size_t i = cond != SIZE_MAX ? cond : first;
  *failed = i;
  if (i == SIZE_MAX) return DORM_ERR_TRANSACTION_CANCELLED;
  dorm_status st = cond != SIZE_MAX ? DORM_ERR_CONDITION_FAILED : DORM_ERR_TRANSACTION_CANCELLED;
  char what[320] = "";
  if (i < n) label(actions, i, what, sizeof what);
  const char *rid = dorm_client_request_id(c);
  char more[64] = "";
  if (--others) snprintf(more, sizeof more, "; %zu other action%s failed too", others, others == 1 ? "" : "s");
  dorm__client_fail(c, st, op, "action %zu%s%s%s: %s%s%s%s (%s%s%s)", i, what[0] ? " (" : "", what,
                    what[0] ? ")" : "", r[i].code, r[i].message[0] ? ": " : "", r[i].message, more,
                    dorm_client_error_code(c), rid[0] ? ", request id " : "", rid);
  return st;
}

/* "PK=USER#1, SK=PROFILE" from a key map (its attributes in order). */
static void key_text(const dorm_av *key, char *buf, size_t cap) {
  size_t o = 0;
  buf[0] = '\0';
  if (!key || key->type != DORM_AV_M) return;
  for (size_t k = 0; k < key->u.map.count && o + 1 < cap; k++) {
    const dorm_str *name = &key->u.map.items[k].name;
    const dorm_av *v = &key->u.map.items[k].value;
    int len;
    if (v->type == DORM_AV_S || v->type == DORM_AV_N)
      len = snprintf(buf + o, cap - o, "%s%.*s=%.*s", k ? ", " : "", (int)name->len, name->ptr,
                     (int)(v->u.s.len > 96 ? 96 : v->u.s.len), v->u.s.ptr);
    else len = snprintf(buf + o, cap - o, "%s%.*s=(%s)", k ? ", " : "", (int)name->len, name->ptr,
                        dorm_av_type_name(v->type));
    if (len < 0) break;
    o += (size_t)len;
    if (o >= cap) o = cap - 1;
  }
}

static const char *write_label(const void *actions, size_t i, char *buf, size_t cap) {
  const dorm_tx_write *t = (const dorm_tx_write *)actions + i;
  char who[256];
  if (t->label) snprintf(who, sizeof who, "%s", t->label);
  else key_text(t->kind == DORM_TX_PUT ? NULL : t->key, who, sizeof who);
  snprintf(buf, cap, "%s%s%s on %s", kind_name(t->kind), who[0] ? " " : "", who, t->table);
  return buf;
}

static const char *get_label(const void *gets, size_t i, char *buf, size_t cap) {
  const dorm_tx_get *g = (const dorm_tx_get *)gets + i;
  char who[256];
  key_text(g->key, who, sizeof who);
  snprintf(buf, cap, "Get%s%s on %s", who[0] ? " " : "", who, g->table);
  return buf;
}

dorm_status dorm_transact_write(dorm_client *c, const dorm_tx_write *actions, size_t n, const char *token,
                                size_t *failed_index) {
  static const char op[] = "TransactWriteItems";
  dorm__client_clear_error(c);
  if (failed_index) *failed_index = SIZE_MAX;
  OPS_REQUIRE(c, op, actions || n == 0, "actions are required");
  if (n == 0 || n > DORM_TX_MAX_ACTIONS)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "a transaction has 1 to %d actions, not %zu",
                            DORM_TX_MAX_ACTIONS, n);
  if (token) {
    size_t tl = strlen(token);
    if (tl == 0 || tl > TX_TOKEN_MAX)
      return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op,
                              "ClientRequestToken must be 1 to %d characters, not %zu", TX_TOKEN_MAX, tl);
  }
  for (size_t i = 0; i < n; i++) {
    dorm_status st = check_write(c, op, i, &actions[i]);
    if (st != DORM_OK) return st;
  }
  char fresh[33];
  if (!token) {
    dorm_status st = dorm__client_new_token(c, fresh);
    if (st != DORM_OK) return st;
    token = fresh;
  }

  dorm_jw *w = dorm__client_writer(c);
  dorm__jw_begin_object(w);
  dorm__jw_key(w, "TransactItems");
  dorm__jw_begin_array(w);
  for (size_t i = 0; i < n; i++) {
    write_action(w, i, &actions[i]);
    if (dorm_jw_status(w) != DORM_OK) {
      char what[320];
      return dorm__client_fail(c, dorm_jw_status(w), op, "action %zu (%s): %s", i,
                              write_label(actions, i, what, sizeof what), w->err);
    }
  }
  dorm__jw_end_array(w);
  dorm__jw_member_string(w, "ClientRequestToken", token);
  dorm__jw_end_object(w);

  const char *resp;
  size_t len;
  dorm_status st = dorm__client_send(c, op, &resp, &len);
  if (st == DORM_ERR_TRANSACTION_CANCELLED) {
    size_t i;
    st = describe_cancellation(c, op, n, write_label, actions, &i);
    if (failed_index) *failed_index = i;
  }
  return st;
}

dorm_status dorm_transact_get(dorm_client *c, const dorm_tx_get *gets, size_t n, dorm_arena *a,
                              dorm_av *items) {
  static const char op[] = "TransactGetItems";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, (gets && items && a) || n == 0, "gets, items and an arena are required");
  if (n == 0 || n > DORM_TX_MAX_ACTIONS)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "a transaction has 1 to %d gets, not %zu",
                            DORM_TX_MAX_ACTIONS, n);
  memset(items, 0, n * sizeof *items);
  for (size_t i = 0; i < n; i++) {
    const dorm_tx_get *g = &gets[i];
    if (!g->table || !*g->table)
      return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "action %zu (Get): no table name", i);
    char label[64];
    snprintf(label, sizeof label, "action %zu (Get) key", i);
    dorm_status st = dorm__ops_check_item(c, op, g->key, label);
    if (st == DORM_OK)
      st = check_action_expr(c, op, i, "Get", g->table, g->expr, false, false, false, false, true);
    if (st != DORM_OK) return st;
  }

  dorm_jw *w = dorm__client_writer(c);
  dorm__jw_begin_object(w);
  dorm__jw_key(w, "TransactItems");
  dorm__jw_begin_array(w);
  for (size_t i = 0; i < n; i++) {
    char where[64];
    snprintf(where, sizeof where, "TransactItems[%zu].Get.Key", i);
    dorm__jw_begin_object(w);
    dorm__jw_key(w, "Get");
    dorm__jw_begin_object(w);
    dorm__jw_member_string(w, "TableName", gets[i].table);
    dorm__jw_key(w, "Key");
    dorm__jw_item(w, gets[i].key, where);
    if (gets[i].expr) dorm__jw_expr(w, gets[i].expr);
    dorm__jw_end_object(w);
    dorm__jw_end_object(w);
    if (dorm_jw_status(w) != DORM_OK)
      return dorm__client_fail(c, dorm_jw_status(w), op, "action %zu (Get on %s): %s", i, gets[i].table, w->err);
  }
  dorm__jw_end_array(w);
  dorm__jw_end_object(w);

  const char *resp;
  size_t len;
  dorm_status st = dorm__client_send(c, op, &resp, &len);
  size_t failed;
  if (st == DORM_ERR_TRANSACTION_CANCELLED) st = describe_cancellation(c, op, n, get_label, gets, &failed);
  if (st != DORM_OK) return st;
  cJSON *root;
  st = dorm__ops_parse_fast(c, op, resp, len, &root);
  if (st != DORM_OK) return st;
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "Responses");
  if (!cJSON_IsArray(arr) || (size_t)cJSON_GetArraySize(arr) != n) {
    dorm__json_free(root);
    return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: expected Responses with %zu entries", n);
  }
  size_t i = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, arr) {
    bool found = false;
    dorm_av item;
    st = dorm__ops_member_item(c, op, r, "Item", a, &item, &found);
    if (st != DORM_OK) break;
    if (found) items[i] = item;
    i++;
  }
  dorm__json_free(root);
  return st;
}

/* The old item DynamoDB returns in a cancellation reason (ReturnValuesOn-
 * ConditionCheckFailure): read again from the kept error body, so that a
 * cancellation costs nothing more when nobody asks. */
dorm_status dorm_transact_cancel_item(const dorm_client *c, size_t i, dorm_arena *a, dorm_av *item) {
  if (item) memset(item, 0, sizeof *item);
  if (!c || !a || !item) return DORM_ERR_INVALID_ARGUMENT;
  const dorm_cancel_reason *reasons;
  if (i >= dorm_client_cancel_reasons(c, &reasons)) return DORM_ERR_NOT_FOUND;
  size_t len = 0;
  const char *body = dorm__client_error_body(c, &len);
  cJSON *root = NULL;
  char err[256];
  dorm_status st = dorm__json_parse(body, len, &root, err, sizeof err);
  if (st != DORM_OK) return st == DORM_ERR_NO_MEMORY ? st : DORM_ERR_BAD_RESPONSE;
  const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "CancellationReasons"), (int)i);
  bool found = false;
  st = r ? dorm__json_member_item(r, "Item", a, item, &found, err, sizeof err) : DORM_OK;
  dorm__json_free(root);
  if (st != DORM_OK) {
    memset(item, 0, sizeof *item);
    return st;
  }
  if (!found) {
    memset(item, 0, sizeof *item);
    return DORM_ERR_NOT_FOUND;
  }
  return DORM_OK;
}
