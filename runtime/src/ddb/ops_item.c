/* GetItem, PutItem, UpdateItem, DeleteItem, and the helpers all operations share. */
#include "ops_common.h"

#include <stdio.h>
#include <string.h>


DORM__HOT
dorm_jw *dorm__ops_begin(dorm_client *c, const char *table) {
  dorm_jw *w = dorm__client_writer(c);
  dorm__jw_begin_object(w);
  dorm__jw_member_string(w, "TableName", table);
  return w;
}

static const char *return_values_name(dorm_return_values rv) {
  switch (rv) {
  case DORM_RETURN_ALL_OLD: return "ALL_OLD";
  case DORM_RETURN_UPDATED_OLD: return "UPDATED_OLD";
  case DORM_RETURN_ALL_NEW: return "ALL_NEW";
  case DORM_RETURN_UPDATED_NEW: return "UPDATED_NEW";
  default: return NULL;
  }
}

dorm_status dorm__ops_table_failed(dorm_client *c, dorm_status st, const char *op, const char *table) {
  if (st != DORM_ERR_TABLE_NOT_FOUND || !table) return st;
  const char *msg = dorm_client_errmsg(c);
  size_t n = strlen(op);
  if (strncmp(msg, op, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') msg += n + 2;
  char rest[1024]; /* the message is rewritten in place: a copy of its detail */
  snprintf(rest, sizeof rest, "%s", msg);
  return dorm__client_fail(c, st, op, "table \"%s\": %s", table, rest);
}

DORM__HOT
void dorm__ops_return_values(dorm_jw *w, dorm_return_values rv, bool on_fail) {
  const char *name = return_values_name(rv);
  if (name) dorm__jw_member_string(w, "ReturnValues", name);
  if (on_fail) dorm__jw_member_string(w, "ReturnValuesOnConditionCheckFailure", "ALL_OLD");
}

DORM__HOT
dorm_status dorm__ops_check_expr(dorm_client *c, const char *op, dorm_expr *x) {
  if (x && dorm_expr_status(x) != DORM_OK)
    return dorm__client_fail(c, dorm_expr_status(x), op, "expression: %s", dorm_expr_errmsg(x));
  return DORM_OK;
}

dorm_status dorm__ops_check_item(dorm_client *c, const char *op, const dorm_av *item, const char *what) {
  if (!item || item->type != DORM_AV_M)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s must be a map (DORM_AV_M)", what);
  size_t size = 0;
  dorm_status st = dorm_item_size(item, &size);
  if (st != DORM_OK) return dorm__client_fail(c, st, op, "%s: cannot compute its size", what);
  if (size > DORM_ITEM_MAX_BYTES)
    return dorm__client_fail(c, DORM_ERR_TOO_LARGE, op,
                            "%s is %zu bytes; DynamoDB stores at most %zu bytes per item", what, size,
                            DORM_ITEM_MAX_BYTES);
  return DORM_OK;
}

dorm_status dorm__ops_parse(dorm_client *c, const char *op, const char *body, size_t len, cJSON **root) {
  char err[256];
  dorm_status st = dorm__json_parse(body, len, root, err, sizeof err);
  if (st != DORM_OK) return dorm__client_fail(c, st, op, "response: %s", err);
  return DORM_OK;
}

dorm_status dorm__ops_parse_fast(dorm_client *c, const char *op, const char *body, size_t len, cJSON **root) {
  char err[256];
  dorm_status st = dorm__json_parse_fast(body, len, root, err, sizeof err);
  if (st != DORM_OK) return dorm__client_fail(c, st, op, "response: %s", err);
  return DORM_OK;
}

dorm_status dorm__ops_member_item(dorm_client *c, const char *op, const cJSON *root, const char *member,
                            dorm_arena *a, dorm_av *out, bool *found) {
  char err[256];
  dorm_status st = dorm__json_member_item(root, member, a, out, found, err, sizeof err);
  if (st != DORM_OK) return dorm__client_fail(c, st, op, "response: %s", err);
  return DORM_OK;
}

void dorm__ops_condition_failure_item(dorm_client *c, dorm_arena *a, dorm_write_result *out) {
  if (!out) return;
  size_t len;
  const char *body = dorm__client_error_body(c, &len);
  cJSON *root = NULL;
  char err[64];
  if (len == 0 || dorm__json_parse(body, len, &root, err, sizeof err) != DORM_OK) return;
  bool found = false;
  if (dorm__json_member_item(root, "Item", a, &out->attributes, &found, err, sizeof err) == DORM_OK)
    out->present = found;
  cJSON_Delete(root);
}

/* Writes `"name":item` (a key or an item) and checks the item as
 * dorm__ops_check_item does, without its size walk on the common path: an
 * item's JSON text is never shorter than its DynamoDB size (every value's
 * `{"T":...}` wrapper outweighs the 1 to 3 bytes of overhead DynamoDB counts,
 * a string's text only grows by escaping, a number's text has at least one
 * character per two digits of its stored form, binary grows by base64), so
 * text within DORM_ITEM_MAX_BYTES means the item is too. Only longer text,
 * or a writer that failed, runs dorm__ops_check_item, whose verdict and
 * message are then reported as when it ran first; DORM_OK with the writer
 * failed leaves the writer's own error to dorm__client_send. */
DORM__HOT
dorm_status dorm__ops_check_key_names(dorm_client *c, const char *op, const dorm_av *key, const char *what) {
  const dorm_av_entry *e = key->u.map.items;
  for (size_t i = 1; i < key->u.map.count; i++)
    for (size_t k = 0; k < i; k++)
      if (e[i].name.len == e[k].name.len && memcmp(e[i].name.ptr, e[k].name.ptr, e[i].name.len) == 0)
        return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op,
                                 "%s names attribute \"%.*s\" twice (DynamoDB would read the last, "
                                 "dorm_av_map_get the first)",
                                 what, (int)(e[i].name.len > 64 ? 64 : e[i].name.len), e[i].name.ptr);
  return DORM_OK;
}

DORM__HOT
static dorm_status ops_write_item(dorm_client *c, const char *op, dorm_jw *w, const char *name,
                                  const dorm_av *item) {
  if (!item || item->type != DORM_AV_M) return dorm__ops_check_item(c, op, item, name);
  /* (a map naming a member twice, a key's attribute too, is the writer's refusal) */
  dorm__jw_key(w, name);
  size_t at = w->len;
  dorm__jw_item(w, item, name);
  if (w->status == DORM_OK && w->len - at <= DORM_ITEM_MAX_BYTES) return DORM_OK;
  return dorm__ops_check_item(c, op, item, name);
}

/* Reads the item of a GetItem ("Item") or write ("Attributes") response into
 * *item (an empty M and *found false when there is none): jsmn's tokens
 * read straight into the arena (json_read.h, the direct path). */
DORM__HOT
static dorm_status ops_read_item(dorm_client *c, const char *op, const char *resp, size_t len, dorm_arena *a,
                                 dorm_av *item, bool *found) {
  char err[256];
  dorm_status st = dorm__json_read_response_item(DORM_JSON_FAST, resp, len, a, item, found, err, sizeof err);
  if (st != DORM_OK) return dorm__client_fail(c, st, op, "response: %s", err);
  return DORM_OK;
}

/* Sends the body in the client's writer and reads "Attributes" into out. */
DORM__HOT
static dorm_status finish_write(dorm_client *c, const char *op, const char *table, dorm_arena *a,
                                dorm_write_result *out) {
  if (out) {
    out->present = false;
    out->attributes = dorm_av_empty(DORM_AV_M);
  }
  const char *resp;
  size_t len;
  dorm_status st = dorm__client_send(c, op, &resp, &len);
  if (st == DORM_ERR_CONDITION_FAILED) {
    if (a) dorm__ops_condition_failure_item(c, a, out);
    return st;
  }
  if (st != DORM_OK) return dorm__ops_table_failed(c, st, op, table);
  if (!out || !a) return st;
  return ops_read_item(c, op, resp, len, a, &out->attributes, &out->present);
}

DORM__HOT
dorm_status dorm_get_item(dorm_client *c, const dorm_get_input *in, dorm_arena *a, dorm_av *item) {
  static const char op[] = "GetItem";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, in && in->table && a && item, "table, arena and item are required");
  *item = dorm_av_empty(DORM_AV_M);
  dorm_jw *w = dorm__ops_begin(c, in->table);
  dorm_status st = ops_write_item(c, op, w, "Key", in->key);
  if (st == DORM_OK) st = dorm__ops_check_expr(c, op, in->expr);
  if (st != DORM_OK) return st;
  if (in->consistent_read) {
    dorm__jw_key(w, "ConsistentRead");
    dorm__jw_bool(w, true);
  }
  if (in->expr) dorm__jw_expr(w, in->expr);
  dorm__jw_end_object(w);

  const char *resp;
  size_t len;
  st = dorm__client_send(c, op, &resp, &len);
  if (st != DORM_OK) return dorm__ops_table_failed(c, st, op, in->table);
  bool found = false;
  st = ops_read_item(c, op, resp, len, a, item, &found);
  if (st == DORM_OK && !found)
    return dorm__client_fail(c, DORM_ERR_NOT_FOUND, op, "no item with that key in table %s", in->table);
  return st;
}

DORM__HOT
dorm_status dorm_put_item(dorm_client *c, const dorm_put_input *in, dorm_arena *a, dorm_write_result *out) {
  static const char op[] = "PutItem";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, in && in->table, "table is required");
  OPS_REQUIRE(c, op, in->return_values == DORM_RETURN_NONE || in->return_values == DORM_RETURN_ALL_OLD,
              "PutItem returns only NONE or ALL_OLD");
  dorm_jw *w = dorm__ops_begin(c, in->table);
  dorm_status st = ops_write_item(c, op, w, "Item", in->item);
  if (st == DORM_OK) st = dorm__ops_check_expr(c, op, in->expr);
  if (st != DORM_OK) return st;
  if (in->expr) dorm__jw_expr(w, in->expr);
  dorm__ops_return_values(w, in->return_values, in->return_old_on_condition_failure);
  dorm__jw_end_object(w);
  return finish_write(c, op, in->table, a, out);
}

DORM__HOT
dorm_status dorm_update_item(dorm_client *c, const dorm_update_input *in, dorm_arena *a,
                             dorm_write_result *out) {
  static const char op[] = "UpdateItem";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, in && in->table && in->expr, "table and an update expression are required");
  dorm_jw *w = dorm__ops_begin(c, in->table);
  dorm_status st = ops_write_item(c, op, w, "Key", in->key);
  if (st == DORM_OK) st = dorm__ops_check_expr(c, op, in->expr);
  /* DynamoDB takes an UpdateItem without UpdateExpression and creates an
   * item holding only the key when none exists: an update whose actions
   * were all left out would quietly add that item. */
  if (st == DORM_OK && dorm_expr_finish(in->expr) == DORM_OK && !in->expr->update)
    st = dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op,
                           "the expression has no update actions (DynamoDB would create an item "
                           "holding only the key when none exists)");
  if (st != DORM_OK) return st;
  dorm__jw_expr(w, in->expr);
  dorm__ops_return_values(w, in->return_values, in->return_old_on_condition_failure);
  dorm__jw_end_object(w);
  return finish_write(c, op, in->table, a, out);
}

DORM__HOT
dorm_status dorm_delete_item(dorm_client *c, const dorm_delete_input *in, dorm_arena *a,
                             dorm_write_result *out) {
  static const char op[] = "DeleteItem";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, in && in->table, "table is required");
  OPS_REQUIRE(c, op, in->return_values == DORM_RETURN_NONE || in->return_values == DORM_RETURN_ALL_OLD,
              "DeleteItem returns only NONE or ALL_OLD");
  dorm_jw *w = dorm__ops_begin(c, in->table);
  dorm_status st = ops_write_item(c, op, w, "Key", in->key);
  if (st == DORM_OK) st = dorm__ops_check_expr(c, op, in->expr);
  if (st != DORM_OK) return st;
  if (in->expr) dorm__jw_expr(w, in->expr);
  dorm__ops_return_values(w, in->return_values, in->return_old_on_condition_failure);
  dorm__jw_end_object(w);
  return finish_write(c, op, in->table, a, out);
}
