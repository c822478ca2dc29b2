/* Typed Query, Scan, Count and parallel Scan, with DynamORM's cursors.
 *
 * The key condition comes from the index's key templates rendered from the
 * caller's structs; models that share a table add a "_type" filter (and,
 * without a sort condition, begins_with on the sort key's literal prefix,
 * which lets DynamoDB skip other entities' items before reading them). */
#include <stdio.h>
#include <string.h>

#include "model_internal.h"

typedef struct qspec {
  const char *op;             /* "Query" / "Scan" */
  const dorm_model_desc *m;
  const dorm_index_desc *idx;
  const dorm_query_opts *o;
  bool scan;
  bool count;                 /* Select COUNT */
  dorm_expr *x;
  bool partial;
} qspec;

static const char *index_label(const char *name) { return name && *name ? name : "(the table)"; }

static dorm_status pick_index(dorm_client *c, const char *op, const dorm_model_desc *m, uint32_t index,
                              const dorm_query_opts *o, const dorm_index_desc **idx) {
  if (index >= m->nindexes)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s: no index %u (the model has %u)", m->name, index,
                            m->nindexes);
  *idx = &m->indexes[index];
  if (o && o->consistent_read && (*idx)->kind == DORM_INDEX_GSI)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op,
                            "%s: consistent reads are not supported on global secondary indexes (%s); "
                            "query the table or an LSI, or read eventually consistent",
                            m->name, (*idx)->name);
  if (o && o->filter && !o->expr)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op,
                            "a filter needs the builder it was made with (dorm_query_opts.expr)");
  return DORM_OK;
}

/* The AttributeValue of key keys[k] from obj, failing the client. */
static dorm_status key_av(dorm_client *c, const char *op, const dorm_model_desc *m, uint32_t k, const void *obj,
                          const char *what, dorm_arena *a, dorm_av *out) {
  char err[512];
  if (!obj)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s: no %s given for key %s", m->name, what,
                            m->keys[k].attr);
  dorm_status st = dorm__model_key_value_av(m, k, obj, a, out, err, sizeof err);
  return st == DORM_OK ? DORM_OK : dorm__client_fail(c, st, op, "%s", err);
}

/* Literal text at the start of key k's template ("ORDER#" of "ORDER#{id}"). */
static size_t leading_literal(const dorm_key_desc *key, model_sbuf *b) {
  if (key->field >= 0) return 0;
  for (uint32_t p = 0; p < key->nparts && key->parts[p].field < 0; p++)
    if (!dorm__buf_put(&b->buf, key->parts[p].literal ? key->parts[p].literal : "", key->parts[p].literal_len)) return 0;
  return b->len;
}

/* The first int or epoch field a sort-key template renders, or NULL. Such a
 * template stores the number as its decimal text ("P#{seq}": "P#10"), and
 * DynamoDB compares a string key byte by byte: "P#10" < "P#9". A range
 * condition on it would select by text, not by number (seq > 9 found 10 of
 * 111 items; between 5 and 15 was a ValidationException), so it is refused:
 * quietly wrong results are worse than an error. EQ and begins_with match
 * the text exactly and stay allowed; time is fixed-width and orders right. */
static const dorm_field_desc *text_ordered_number(const dorm_model_desc *m, const dorm_key_desc *skd) {
  if (skd->field >= 0) return NULL;
  for (uint32_t p = 0; p < skd->nparts; p++) {
    int32_t f = skd->parts[p].field;
    if (f < 0 || (uint32_t)f >= m->nfields) continue;
    uint8_t kind = m->fields[f].type.kind;
    if (kind == DORM_K_INT || kind == DORM_K_EPOCH) return &m->fields[f];
  }
  return NULL;
}

static dorm_status key_condition(dorm_client *c, qspec *q, const void *pk_obj, const dorm_sk_cond *sk,
                                 dorm_arena *a) {
  const dorm_model_desc *m = q->m;
  dorm_expr *x = q->x;
  const dorm_key_desc *pkd = &m->keys[q->idx->pk];
  dorm_av pv;
  dorm_status st = key_av(c, q->op, m, (uint32_t)q->idx->pk, pk_obj, "partition key object", a, &pv);
  if (st != DORM_OK) return st;
  dorm_cond *cond = dorm_cond_compare(x, dorm_opd_name(x, pkd->attr, strlen(pkd->attr)), DORM_EQ, dorm_opd_value(x, pv));
  bool has_sk_cond = sk && sk->op != DORM_SK_NONE;
  if (has_sk_cond && q->idx->sk < 0)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, q->op, "%s: %s has no sort key to put a condition on",
                            m->name, index_label(q->idx->name));
  if (q->idx->sk >= 0) {
    uint32_t k = (uint32_t)q->idx->sk;
    const dorm_key_desc *skd = &m->keys[k];
    dorm_operand *name = dorm_opd_name(x, skd->attr, strlen(skd->attr));
    dorm_cond *sc = NULL;
    if (has_sk_cond) {
      dorm_av lo, hi;
      const dorm_field_desc *num = sk->op != DORM_SK_EQ && sk->op != DORM_SK_BEGINS_WITH ? text_ordered_number(m, skd) : NULL;
      if (num)
        return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, q->op,
                                "%s: sort key %s of %s holds %s %s as text, which DynamoDB orders by character "
                                "(10 before 9): a <, <=, >, >= or between condition on it would not select by number; "
                                "use an equality or begins_with condition, a filter, or a fixed-width key "
                                "(a time field, a zero-padded string)",
                                m->name, skd->attr, index_label(q->idx->name),
                                num->type.kind == DORM_K_INT ? "int" : "epoch", num->name);
      switch (sk->op) {
      case DORM_SK_EQ:
      case DORM_SK_LT:
      case DORM_SK_LE:
      case DORM_SK_GT:
      case DORM_SK_GE: {
        static const dorm_cmp_op ops[] = {[DORM_SK_EQ] = DORM_EQ, [DORM_SK_LT] = DORM_LT, [DORM_SK_LE] = DORM_LE,
                                          [DORM_SK_GT] = DORM_GT, [DORM_SK_GE] = DORM_GE};
        if ((st = key_av(c, q->op, m, k, sk->lo, "sort key object (lo)", a, &lo)) != DORM_OK) return st;
        sc = dorm_cond_compare(x, name, ops[sk->op], dorm_opd_value(x, lo));
        break;
      }
      case DORM_SK_BETWEEN:
        if ((st = key_av(c, q->op, m, k, sk->lo, "sort key object (lo)", a, &lo)) != DORM_OK) return st;
        if ((st = key_av(c, q->op, m, k, sk->hi, "sort key object (hi)", a, &hi)) != DORM_OK) return st;
        sc = dorm_cond_between_opd(x, name, dorm_opd_value(x, lo), dorm_opd_value(x, hi));
        break;
      case DORM_SK_BEGINS_WITH: {
        if (skd->type != 'S')
          return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, q->op, "%s: begins_with needs a string sort key (%s is %c)",
                                  m->name, skd->attr, skd->type);
        model_sbuf b;
        dorm__model_sbuf_init(&b);
        leading_literal(skd, &b);
        bool ok = dorm__buf_put(&b.buf, sk->prefix ? sk->prefix : "", sk->prefix ? strlen(sk->prefix) : 0);
        dorm_av pre;
        ok = ok && dorm_av_str_copy(a, b.p, b.len, &pre) == DORM_OK;
        dorm__model_sbuf_free(&b);
        if (!ok) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, q->op, "out of memory");
        if (pre.u.s.len == 0)
          return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, q->op, "%s: begins_with needs a non-empty prefix",
                                  m->name);
        sc = dorm_cond_begins_with_opd(x, name, dorm_opd_value(x, pre));
        break;
      }
      default:
        return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, q->op, "%s: unknown sort key operator %d", m->name,
                                (int)sk->op);
      }
    } else if (m->entity_type && skd->type == 'S') {
      /* Other entities share the partition: narrow by the literal prefix. */
      model_sbuf b;
      dorm__model_sbuf_init(&b);
      if (leading_literal(skd, &b)) {
        dorm_av pre;
        if (dorm_av_str_copy(a, b.p, b.len, &pre) == DORM_OK)
          sc = dorm_cond_begins_with_opd(x, name, dorm_opd_value(x, pre));
      }
      dorm__model_sbuf_free(&b);
    }
    if (sc) cond = dorm_cond_and(x, cond, sc);
  }
  dorm_expr_key_condition(x, cond);
  return dorm__ops_check_expr(c, q->op, x);
}

/* A filter that keeps a shared table's items of this model on an index that
 * does not project "_type": DynamoDB refuses a filter on an attribute the
 * index does not project (DynamoDB Local even on an LSI asked for all
 * attributes), but the table's key attributes are projected into every
 * index, so the literal text the model's table key templates start with
 * tells its items apart: SK = "PROFILE", begins_with(SK, "ORDER#"). The sort
 * key is tried first (it is what single-table designs vary per type), then
 * the partition key. NULL when neither starts with literal text. */
static dorm_cond *key_literal_cond(dorm_expr *x, const dorm_model_desc *m) {
  for (int i = (int)m->table_keys - 1; i >= 0; i--) {
    const dorm_key_desc *k = &m->keys[i];
    if (k->field >= 0 || k->nparts == 0 || k->parts[0].field >= 0 || k->parts[0].literal_len == 0) continue;
    dorm_operand *attr = dorm_opd_name(x, k->attr, strlen(k->attr));
    dorm_av lit = dorm_av_strn(k->parts[0].literal, k->parts[0].literal_len);
    if (k->nparts == 1) return dorm_cond_compare(x, attr, DORM_EQ, dorm_opd_value(x, lit));
    return dorm_cond_begins_with_opd(x, attr, dorm_opd_value(x, lit));
  }
  return NULL;
}

/* The model's own filter ANDed with the caller's. On a shared table that is
 * "_type" = :t where the index projects every attribute, else the key
 * literal filter above. */
static dorm_status filters(dorm_client *c, qspec *q) {
  dorm_expr *x = q->x;
  dorm_cond *own = NULL;
  if (q->m->entity_type) {
    if (q->idx->projection == 0)
      own = dorm_cond_compare(x, dorm_opd_name(x, "_type", 5), DORM_EQ, dorm_opd_value(x, dorm_av_str(q->m->entity_type)));
    else
      own = key_literal_cond(x, q->m);
  }
  dorm_cond *user = q->o ? q->o->filter : NULL;
  dorm_cond *f = own && user ? dorm_cond_and(x, own, user) : own ? own : user;
  if (f) dorm_expr_filter(x, f);
  return dorm__ops_check_expr(c, q->op, x);
}

/* Decodes o->cursor and checks it was made for this index and order. */
static dorm_status start_key(dorm_client *c, qspec *q, dorm_arena *a, dorm_av *start, bool *has_start) {
  *has_start = false;
  const char *cur = q->o ? q->o->cursor : NULL;
  if (!cur || !*cur) return DORM_OK;
  const char *index, *sort;
  char err[256];
  dorm_status st = dorm_cursor_decode(cur, a, start, &index, &sort, err, sizeof err);
  if (st != DORM_OK) return dorm__client_fail(c, st, q->op, "%s", err);
  const char *want = q->idx->name ? q->idx->name : "";
  if (strcmp(index, want) != 0)
    return dorm__client_fail(c, DORM_ERR_BAD_CURSOR, q->op, "bad cursor: it was made for %s%s%s, not for %s%s%s",
                            *index ? "index \"" : "", *index ? index : "the table", *index ? "\"" : "",
                            *want ? "index \"" : "", *want ? want : "the table", *want ? "\"" : "");
  const char *order = q->scan ? "" : (q->o && q->o->descending ? "DESC" : "ASC");
  /* DynamORM leaves "sort" out of ascending queries without OrderBy. */
  bool same = strcmp(sort, order) == 0 || (!q->scan && !*sort && strcmp(order, "ASC") == 0);
  if (!same)
    return dorm__client_fail(c, DORM_ERR_BAD_CURSOR, q->op, "bad cursor: it was made for %s, not for %s",
                            *sort ? (strcmp(sort, "ASC") == 0 ? "an ascending query" : "a descending query") : "a scan",
                            q->scan ? "a scan" : (*order == 'A' ? "an ascending query" : "a descending query"));
  *has_start = true;
  return DORM_OK;
}

static void write_request(dorm_client *c, qspec *q, const dorm_av *start) {
  const dorm_query_opts *o = q->o;
  dorm_jw *w = dorm__ops_begin(c, q->m->table);
  if (q->idx->name) dorm__jw_member_string(w, "IndexName", q->idx->name);
  dorm__jw_expr(w, q->x);
  if (o && o->limit) dorm__jw_member_int(w, "Limit", o->limit);
  if (o && o->consistent_read) {
    dorm__jw_key(w, "ConsistentRead");
    dorm__jw_bool(w, true);
  }
  if (q->count) dorm__jw_member_string(w, "Select", "COUNT");
  if (!q->scan && o && o->descending) {
    dorm__jw_key(w, "ScanIndexForward");
    dorm__jw_bool(w, false);
  }
  if (start) {
    dorm__jw_key(w, "ExclusiveStartKey");
    dorm__jw_item(w, start, "ExclusiveStartKey");
  }
  dorm__jw_end_object(w);
}

/* Everything before the first request: builder, key condition, filter,
 * projection. */
static dorm_status prepare(dorm_client *c, qspec *q, uint32_t index, const void *pk_obj, const dorm_sk_cond *sk,
                           dorm_arena *a, dorm_expr *local) {
  dorm_status st = pick_index(c, q->op, q->m, index, q->o, &q->idx);
  if (st != DORM_OK) return st;
  dorm_crypt *k;
  if (!q->count && (st = dorm__model_crypt_for(c, q->op, q->m, &k)) != DORM_OK) return st;
  if (q->o && q->o->expr) q->x = q->o->expr;
  else {
    dorm_expr_init(local, a);
    q->x = local;
  }
  if (!q->scan && (st = key_condition(c, q, pk_obj, sk, a)) != DORM_OK) return st;
  if ((st = filters(c, q)) != DORM_OK) return st;
  q->partial = q->idx->projection != 0;
  if (!q->count && q->o && q->o->fields && q->o->nfields) {
    q->partial = true;
    if ((st = dorm__model_projection(c, q->op, q->m, q->x, q->o->fields, q->o->nfields, false)) != DORM_OK) return st;
  }
  return DORM_OK;
}

static dorm_status read_page(dorm_client *c, qspec *q, const char *resp, size_t len, dorm_arena *a,
                             dorm_model_page *page) {
  const dorm_model_desc *m = q->m;
  model_response r;
  char err[512];
  dorm_status st = dorm__model_decode_response_k(resp, len, m, q->partial ? DORM_READ_PARTIAL : 0,
                                               dorm__model_crypt_of(c, m), a, &r, err, sizeof err);
  if (st != DORM_OK) {
    if (r.bad_item != SIZE_MAX) return dorm__client_fail(c, st, q->op, "item %s: %s", r.bad_key, err);
    return dorm__client_fail(c, st, q->op, "response: %s", err);
  }
  void *items = r.items;
  page->items = items;
  page->count = r.nitems;
  page->scanned_count = r.scanned_count;
  /* An empty key resumes nothing: it ends the results (as the ddb layer's
   * pager and boto3's take it); as "more", the next page was refused. */
  page->has_more = r.has_last_key && r.last_key.type == DORM_AV_M && r.last_key.u.map.count > 0;
  page->cursor = NULL;
  if (page->has_more) {
    const char *sort = q->scan ? NULL : (q->o && q->o->descending ? "DESC" : "ASC");
    st = dorm_cursor_encode(&r.last_key, q->idx->name, sort, a, &page->cursor);
    if (st != DORM_OK) return dorm__client_fail(c, st, q->op, "cannot encode the cursor of LastEvaluatedKey");
  }
  return DORM_OK;
}

static dorm_status page_op(dorm_client *c, qspec *q, uint32_t index, const void *pk_obj, const dorm_sk_cond *sk,
                           dorm_arena *a, dorm_model_page *page) {
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  dorm__client_clear_error(c);
  if (page) memset(page, 0, sizeof *page);
  if (!q->m) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, q->op, "no model descriptor given");
  if (!a || !page)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, q->op, "%s: an arena and a page are required", q->m->name);
  dorm_expr local;
  dorm__model_expr_mark mk = dorm__model_mark_expr(q->o ? q->o->expr : NULL);
  dorm_status st = prepare(c, q, index, pk_obj, sk, a, &local);
  dorm_av start;
  bool has_start = false;
  if (st == DORM_OK) st = start_key(c, q, a, &start, &has_start);
  if (st == DORM_OK) write_request(c, q, has_start ? &start : NULL);
  dorm__model_restore_expr(&mk); /* the request's text is written */
  if (st != DORM_OK) return st;
  const char *resp;
  size_t len;
  st = dorm__client_send(c, q->op, &resp, &len);
  if (st != DORM_OK) return dorm__ops_table_failed(c, st, q->op, q->m->table);
  return read_page(c, q, resp, len, a, page);
}

dorm_status dorm_model_query(dorm_client *c, const dorm_model_desc *m, uint32_t index, const void *pk_obj,
                             const dorm_sk_cond *sk, const dorm_query_opts *o, dorm_arena *a, dorm_model_page *page) {
  qspec q = {"Query", m, NULL, o, false, false, NULL, false};
  if (c && m && !pk_obj) {
    dorm__client_clear_error(c);
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, "Query", "%s: no partition key object given", m->name);
  }
  return page_op(c, &q, index, pk_obj, sk, a, page);
}

dorm_status dorm_model_scan(dorm_client *c, const dorm_model_desc *m, uint32_t index, const dorm_query_opts *o,
                            dorm_arena *a, dorm_model_page *page) {
  qspec q = {"Scan", m, NULL, o, true, false, NULL, false};
  return page_op(c, &q, index, NULL, NULL, a, page);
}

dorm_status dorm_model_count(dorm_client *c, const dorm_model_desc *m, uint32_t index, const void *pk_obj,
                             const dorm_sk_cond *sk, const dorm_query_opts *o, uint64_t *count) {
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  qspec q = {pk_obj ? "Query" : "Scan", m, NULL, o, pk_obj == NULL, true, NULL, false};
  dorm__client_clear_error(c);
  if (!m || !count) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, q.op, "a model and a count are required");
  *count = 0;
  /* The builder lives in `base`; each response's LastEvaluatedKey in
   * `keys`, which is reset once the request made from the previous key has
   * been sent. */
  dorm_arena base = DORM_ARENA_INIT, keys = DORM_ARENA_INIT;
  dorm_expr local;
  dorm_av start;
  bool has_start = false;
  dorm__model_expr_mark mk = dorm__model_mark_expr(o ? o->expr : NULL);
  dorm_status st = prepare(c, &q, index, pk_obj, sk, &base, &local);
  if (st == DORM_OK) st = start_key(c, &q, &base, &start, &has_start);
  while (st == DORM_OK) {
    write_request(c, &q, has_start ? &start : NULL);
    const char *resp;
    size_t len;
    if ((st = dorm__client_send(c, q.op, &resp, &len)) != DORM_OK) {
      st = dorm__ops_table_failed(c, st, q.op, q.m->table);
      break;
    }
    dorm_arena_reset(&keys);
    char err[512];
    cJSON *root = NULL;
    dorm_json_response r;
    if ((st = dorm__json_parse_fast(resp, len, &root, err, sizeof err)) == DORM_OK &&
        (st = dorm__json_response_members(root, &r, err, sizeof err)) == DORM_OK) {
      *count += r.has_count ? r.count : 0;
      has_start = r.last_key != NULL;
      if (has_start) st = dorm__json_to_item(r.last_key, &keys, &start, "LastEvaluatedKey", err, sizeof err);
      if (st == DORM_OK && has_start && start.u.map.count == 0) has_start = false; /* {} ends the results */
    }
    dorm__json_free(root);
    if (st != DORM_OK) {
      st = dorm__client_fail(c, st, q.op, "response: %s", err);
      break;
    }
    if (!has_start) break;
  }
  dorm__model_restore_expr(&mk);
  dorm_arena_free(&base);
  dorm_arena_free(&keys);
  return st;
}

/* ---- parallel scan ---- */

typedef struct pscan {
  const dorm_model_desc *m;
  dorm_crypt *k; /* the client's, for encrypted fields (pages come one at a time) */
  unsigned flags;
  dorm_items_fn fn;
  void *user;
  dorm_arena a;
  dorm_status status;
  char err[512];
} pscan;

static dorm_status pscan_page(void *user, uint32_t segment, const dorm_page *page) {
  (void)segment;
  pscan *p = user;
  const dorm_model_desc *m = p->m;
  dorm_arena_reset(&p->a);
  char *items = page->count ? dorm_arena_alloc(&p->a, page->count * m->size) : NULL;
  if (page->count && !items) {
    snprintf(p->err, sizeof p->err, "out of memory");
    return p->status = DORM_ERR_NO_MEMORY;
  }
  for (size_t i = 0; i < page->count; i++) {
    char err[384];
    dorm_status st = dorm__model_read_item_k(m, &page->items[i], p->flags, p->k, &p->a, items + i * m->size, err,
                                           sizeof err);
    if (st != DORM_OK) {
      char key[96];
      dorm__model_key_text(m, &page->items[i], key, sizeof key);
      snprintf(p->err, sizeof p->err, "item %s: %s", key, err);
      return p->status = st;
    }
  }
  dorm_status st = p->fn(p->user, items, page->count);
  if (st != DORM_OK && p->status == DORM_OK) {
    snprintf(p->err, sizeof p->err, "the items callback stopped the scan (%s)", dorm_strerror(st));
    p->status = st;
  }
  return st;
}

dorm_status dorm_model_scan_parallel(dorm_client *c, const dorm_model_desc *m, const dorm_query_opts *o,
                                     uint32_t segments, uint32_t workers, dorm_items_fn on_items, void *user) {
  static const char op[] = "Scan";
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  dorm__client_clear_error(c);
  if (!m || !on_items) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "a model and a callback are required");
  if (o && o->cursor && *o->cursor)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "a parallel scan starts each segment from its beginning");
  dorm_arena a = DORM_ARENA_INIT;
  qspec q = {op, m, NULL, o, true, false, NULL, false};
  dorm_expr local;
  dorm__model_expr_mark mk = dorm__model_mark_expr(o ? o->expr : NULL);
  dorm_status st = prepare(c, &q, 0, NULL, NULL, &a, &local);
  if (st != DORM_OK) {
    dorm__model_restore_expr(&mk);
    dorm_arena_free(&a);
    return st;
  }
  /* Finish the builder's text now: the workers only read it. */
  dorm_expr_finish(q.x);
  dorm_scan_input in;
  memset(&in, 0, sizeof in);
  in.table = m->table;
  in.index = q.idx->name;
  in.expr = (q.x->filter || q.x->projection) ? q.x : NULL;
  in.limit = o ? o->limit : 0;
  in.consistent_read = o && o->consistent_read;
  pscan p;
  memset(&p, 0, sizeof p);
  p.m = m;
  p.k = dorm__model_crypt_of(c, m);
  p.flags = MODEL_READ_BORROW | (q.partial ? DORM_READ_PARTIAL : 0);
  p.fn = on_items;
  p.user = user;
  st = dorm_scan_parallel(c, &in, segments, workers, pscan_page, &p);
  if (st != DORM_OK && p.status != DORM_OK) st = dorm__client_fail(c, p.status, op, "%s", p.err);
  dorm__model_restore_expr(&mk);
  dorm_arena_free(&p.a);
  dorm_arena_free(&a);
  return st;
}
