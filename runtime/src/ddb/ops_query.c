/* Query and Scan: single pages, the pager, and parallel scan. */
#include "ops_common.h"

#include "dorm/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *select_name(dorm_select s) {
  switch (s) {
  case DORM_SELECT_ALL_ATTRIBUTES: return "ALL_ATTRIBUTES";
  case DORM_SELECT_ALL_PROJECTED_ATTRIBUTES: return "ALL_PROJECTED_ATTRIBUTES";
  case DORM_SELECT_COUNT: return "COUNT";
  default: return NULL;
  }
}

/* Members Query and Scan share, after TableName. */
static void common_members(dorm_jw *w, const char *index, dorm_expr *x, uint32_t limit,
                           bool consistent, dorm_select sel, const dorm_av *start_key) {
  if (index) dorm__jw_member_string(w, "IndexName", index);
  if (x) dorm__jw_expr(w, x);
  if (limit) dorm__jw_member_int(w, "Limit", limit);
  if (consistent) {
    dorm__jw_key(w, "ConsistentRead");
    dorm__jw_bool(w, true);
  }
  const char *s = select_name(sel);
  if (s) dorm__jw_member_string(w, "Select", s);
  if (start_key) {
    dorm__jw_key(w, "ExclusiveStartKey");
    dorm__jw_item(w, start_key, "ExclusiveStartKey");
  }
}

/* Reads one page from a Query or Scan response body. Failures are reported
 * through the client. */
static dorm_status parse_page(dorm_client *c, const char *op, const char *resp, size_t len, dorm_arena *a,
                              dorm_page *page) {
  memset(page, 0, sizeof *page);
  page->last_key = dorm_av_empty(DORM_AV_M);
  cJSON *root;
  dorm_status st = dorm__ops_parse_fast(c, op, resp, len, &root);
  if (st != DORM_OK) return st;
  char err[256];
  dorm_json_response r;
  jr_reader rd;
  dorm__jr_init(&rd, a, len, err, sizeof err);
  st = dorm__json_response_members(root, &r, err, sizeof err);
  if (st == DORM_OK && r.items) {
    jr_path where = {NULL, "Items", 0};
    size_t n = jr_is_array(r.items) ? jr_count(r.items) : 0, i = 0;
    if (!jr_is_array(r.items)) st = dorm__jr_fail(&rd, &where, DORM_ERR_BAD_RESPONSE, "expected an array of items");
    else if (n && !(page->items = dorm_arena_alloc(a, n * sizeof *page->items))) st = DORM_ERR_NO_MEMORY;
    for (const cJSON *it = st == DORM_OK ? r.items->child : NULL; it && st == DORM_OK; it = it->next, i++) {
      jr_path at = {&where, NULL, i};
      st = dorm__jr_members(&rd, it, &at, 0, &page->items[i]);
    }
    page->count = n;
  } else if (st == DORM_OK) {
    /* With Select COUNT there are no Items, only Count. */
    page->count = (size_t)r.count;
  }
  page->scanned_count = (size_t)r.scanned_count;
  if (st == DORM_OK && r.last_key) {
    jr_path where = {NULL, "LastEvaluatedKey", 0};
    st = dorm__jr_members(&rd, r.last_key, &where, 0, &page->last_key);
    /* An empty key resumes nothing (DynamoDB refuses it as ExclusiveStartKey);
     * it ends the results, as boto3's and the Go SDK's paginators take it.
     * Taken as more, a server answering {} kept the pager asking forever. */
    page->has_more = st == DORM_OK && page->last_key.u.map.count > 0;
  }
  dorm__json_free(root);
  if (st == DORM_ERR_NO_MEMORY) return dorm__client_fail(c, st, op, "out of memory");
  if (st != DORM_OK) {
    page->items = NULL;
    page->count = 0;
    return dorm__client_fail(c, st, op, "response: %s", err);
  }
  return DORM_OK;
}

/* Sends the request in the writer and reads one page. */
static dorm_status read_page(dorm_client *c, const char *op, const char *table, dorm_arena *a, dorm_page *page) {
  memset(page, 0, sizeof *page);
  page->last_key = dorm_av_empty(DORM_AV_M);
  const char *resp;
  size_t len;
  dorm_status st = dorm__client_send(c, op, &resp, &len);
  if (st != DORM_OK) return dorm__ops_table_failed(c, st, op, table);
  return parse_page(c, op, resp, len, a, page);
}

dorm_status dorm_query(dorm_client *c, const dorm_query_input *in, dorm_arena *a, dorm_page *page) {
  static const char op[] = "Query";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, in && in->table && a && page, "table, arena and page are required");
  OPS_REQUIRE(c, op, in->expr && in->expr->key_condition, "a key condition is required");
  dorm_status st = dorm__ops_check_expr(c, op, in->expr);
  if (st != DORM_OK) return st;
  if (in->start_key && (st = dorm__ops_check_item(c, op, in->start_key, "start key")) != DORM_OK) return st;

  dorm_jw *w = dorm__ops_begin(c, in->table);
  common_members(w, in->index, in->expr, in->limit, in->consistent_read, in->select, in->start_key);
  if (in->descending) {
    dorm__jw_key(w, "ScanIndexForward");
    dorm__jw_bool(w, false);
  }
  dorm__jw_end_object(w);
  return read_page(c, op, in->table, a, page);
}

/* Checks a Scan and writes its body into the client's writer. */
static dorm_status scan_prepare(dorm_client *c, const dorm_scan_input *in) {
  static const char op[] = "Scan";
  OPS_REQUIRE(c, op, !in->expr || !in->expr->key_condition, "Scan takes no key condition (use Query)");
  OPS_REQUIRE(c, op, in->total_segments == 0 || in->segment < in->total_segments,
              "segment must be below total_segments");
  OPS_REQUIRE(c, op, in->total_segments <= 1000000, "total_segments is at most 1000000");
  dorm_status st = dorm__ops_check_expr(c, op, in->expr);
  if (st != DORM_OK) return st;
  if (in->start_key && (st = dorm__ops_check_item(c, op, in->start_key, "start key")) != DORM_OK) return st;

  dorm_jw *w = dorm__ops_begin(c, in->table);
  common_members(w, in->index, in->expr, in->limit, in->consistent_read, in->select, in->start_key);
  if (in->total_segments) {
    dorm__jw_member_int(w, "Segment", in->segment);
    dorm__jw_member_int(w, "TotalSegments", in->total_segments);
  }
  dorm__jw_end_object(w);
  return DORM_OK;
}

dorm_status dorm__scan_body(dorm_client *c, const dorm_scan_input *in, const char **body, size_t *len) {
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, "Scan", in && in->table && body && len, "table, body and len are required");
  dorm_status st = scan_prepare(c, in);
  if (st != DORM_OK) return st;
  dorm_jw *w = dorm__client_writer_current(c);
  st = dorm__jw_finish(w, body, len);
  if (st != DORM_OK) return dorm__client_fail(c, st, "Scan", "%s", w->err);
  return DORM_OK;
}

dorm_status dorm__page_parse(dorm_client *c, const char *op, const char *body, size_t len, dorm_arena *a,
                             dorm_page *page) {
  return parse_page(c, op, body, len, a, page);
}

dorm_status dorm_scan(dorm_client *c, const dorm_scan_input *in, dorm_arena *a, dorm_page *page) {
  static const char op[] = "Scan";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, in && in->table && a && page, "table, arena and page are required");
  dorm_status st = scan_prepare(c, in);
  if (st != DORM_OK) return st;
  return read_page(c, op, in->table, a, page);
}

/* ---- pager ---- */

static void pager_init(dorm_pager *p, dorm_client *c) {
  memset(p, 0, sizeof *p);
  p->client = c;
  dorm_arena_init(&p->key_arena, 1024);
  p->next_key = dorm_av_empty(DORM_AV_M);
}

void dorm_pager_init_query(dorm_pager *p, dorm_client *c, const dorm_query_input *in) {
  pager_init(p, c);
  p->query = *in;
}

void dorm_pager_init_scan(dorm_pager *p, dorm_client *c, const dorm_scan_input *in) {
  pager_init(p, c);
  p->is_scan = true;
  p->scan = *in;
}

dorm_status dorm_pager_next(dorm_pager *p, dorm_arena *a, dorm_page *page) {
  memset(page, 0, sizeof *page);
  page->last_key = dorm_av_empty(DORM_AV_M);
  if (p->done) return DORM_OK;
  if (p->exhausted) {
    p->done = true;
    return DORM_OK;
  }
  const dorm_av *start = p->started ? &p->next_key : (p->is_scan ? p->scan.start_key : p->query.start_key);
  /* With max_items, no request asks for more than what remains: a page cut
   * after the answer would leave a last_key past items never handed out
   * (the page boundary overshot max_items before). Not with a filter: Limit
   * counts items evaluated before it, so a small Limit would take a request
   * per few items evaluated; there the last page is whole and may go past. */
  uint32_t limit = p->is_scan ? p->scan.limit : p->query.limit;
  const dorm_expr *x = p->is_scan ? p->scan.expr : p->query.expr;
  if (p->max_items && !(x && x->filter)) {
    uint64_t left = p->max_items - p->items_seen;
    if (limit == 0 || left < limit) limit = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
  }
  dorm_status st;
  if (p->is_scan) {
    dorm_scan_input in = p->scan;
    in.start_key = start;
    in.limit = limit;
    st = dorm_scan(p->client, &in, a, page);
  } else {
    dorm_query_input in = p->query;
    in.start_key = start;
    in.limit = limit;
    st = dorm_query(p->client, &in, a, page);
  }
  if (st != DORM_OK) return st;
  p->started = true;
  p->items_seen += page->count;
  if (!page->has_more || (p->max_items && p->items_seen >= p->max_items)) {
    /* This page is still the caller's; the next call reports done. */
    p->exhausted = true;
    return DORM_OK;
  }
  /* Keep the key in our own arena: the caller may reset theirs. The old key
   * is the start of this request and no longer needed, but it shares the
   * arena, so copy into a fresh generation. */
  dorm_arena next = DORM_ARENA_INIT;
  dorm_arena_init(&next, 1024);
  dorm_av copy;
  st = dorm_av_copy(&next, &page->last_key, &copy);
  if (st != DORM_OK) {
    dorm_arena_free(&next);
    return dorm__client_fail(p->client, st, p->is_scan ? "Scan" : "Query", "out of memory");
  }
  dorm_arena_free(&p->key_arena);
  p->key_arena = next;
  p->next_key = copy;
  return DORM_OK;
}

void dorm_pager_free(dorm_pager *p) {
  dorm_arena_free(&p->key_arena);
  p->done = true;
}

/* ---- parallel scan ----
 *
 * Segments are page chains: `workers` of them run at once as requests in
 * flight on one dorm_pool (dorm/pool.h), from this thread. Each answer is
 * handed to on_page, then the segment's next page is sent (or, when the
 * segment is over, the first page of the next segment not yet started). */

typedef struct ps_segment {
  struct parallel_scan *ps;
  uint32_t segment;
  dorm_arena key_arena; /* the start key of the page in flight */
  dorm_av next_key;
  bool has_key;
} ps_segment;

typedef struct parallel_scan {
  dorm_client *c;
  const dorm_scan_input *in;
  uint32_t total, next_segment;
  dorm_page_fn on_page;
  void *user;
  dorm_pool *pool;
  dorm_arena page_arena;
  bool stop;
  dorm_status status;
  char errmsg[1024];
} parallel_scan;

/* Records the first failure (without a leading "Scan: "); stops the scan. */
static void ps_fail(parallel_scan *ps, dorm_status st, const char *msg) {
  if (ps->status == DORM_OK) {
    ps->status = st;
    if (strncmp(msg, "Scan: ", 6) == 0) msg += 6;
    snprintf(ps->errmsg, sizeof ps->errmsg, "%s", msg);
  }
  ps->stop = true;
}

static void ps_page_done(void *user, const dorm_pool_result *r);

/* Queues the next page of seg (its first when it has no key). Frees seg
 * when nothing could be queued. */
static void ps_send(parallel_scan *ps, ps_segment *seg) {
  dorm_scan_input in = *ps->in;
  in.segment = seg->segment;
  in.total_segments = ps->total;
  in.start_key = seg->has_key ? &seg->next_key : NULL;
  const char *body = NULL;
  size_t len = 0;
  dorm_status st = dorm__scan_body(ps->c, &in, &body, &len);
  if (st == DORM_OK) {
    dorm_pool_request rq = {"Scan", body, len, 0, ps_page_done, seg};
    st = dorm_pool_submit(ps->pool, &rq);
    if (st != DORM_OK) dorm__client_fail(ps->c, st, "Scan", "cannot queue a request");
  }
  if (st != DORM_OK) {
    ps_fail(ps, st, dorm_client_errmsg(ps->c));
    dorm_arena_free(&seg->key_arena);
    free(seg);
  }
}

/* Starts the next segment not yet started, if any and the scan goes on. */
static void ps_start_next(parallel_scan *ps) {
  if (ps->stop || ps->next_segment >= ps->total) return;
  ps_segment *seg = calloc(1, sizeof *seg);
  if (!seg) {
    ps_fail(ps, DORM_ERR_NO_MEMORY, "out of memory");
    return;
  }
  seg->ps = ps;
  seg->segment = ps->next_segment++;
  dorm_arena_init(&seg->key_arena, 1024);
  ps_send(ps, seg);
}

static void ps_page_done(void *user, const dorm_pool_result *r) {
  ps_segment *seg = user;
  parallel_scan *ps = seg->ps;
  bool more = false;
  if (r->status != DORM_OK) {
    ps_fail(ps, r->status, r->errmsg);
  } else if (!ps->stop) {
    dorm_page page;
    dorm_arena_reset(&ps->page_arena);
    dorm_status st = parse_page(ps->c, "Scan", r->body, r->body_len, &ps->page_arena, &page);
    if (st != DORM_OK) {
      ps_fail(ps, st, dorm_client_errmsg(ps->c));
    } else {
      st = ps->on_page(ps->user, seg->segment, &page);
      if (st != DORM_OK) {
        ps_fail(ps, st, "the page callback stopped the scan");
      } else if (page.has_more) {
        /* The old key is the start of the request just answered: copy the
         * new one into a fresh arena, then drop the old. */
        dorm_arena next = DORM_ARENA_INIT;
        dorm_arena_init(&next, 1024);
        dorm_av copy;
        if (dorm_av_copy(&next, &page.last_key, &copy) != DORM_OK) {
          dorm_arena_free(&next);
          ps_fail(ps, DORM_ERR_NO_MEMORY, "out of memory");
        } else {
          dorm_arena_free(&seg->key_arena);
          seg->key_arena = next;
          seg->next_key = copy;
          seg->has_key = true;
          more = true;
        }
      }
    }
  }
  if (more && !ps->stop) {
    ps_send(ps, seg);
    return;
  }
  dorm_arena_free(&seg->key_arena);
  free(seg);
  ps_start_next(ps);
}

dorm_status dorm_scan_parallel(dorm_client *c, const dorm_scan_input *in, uint32_t total_segments,
                               uint32_t workers, dorm_page_fn on_page, void *user) {
  static const char op[] = "Scan";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, in && in->table && on_page, "table and a page callback are required");
  OPS_REQUIRE(c, op, total_segments >= 1 && total_segments <= 1000000,
              "total_segments must be 1..1000000");
  OPS_REQUIRE(c, op, !in->start_key, "a parallel scan starts each segment from its beginning");
  if (workers == 0) workers = 1;
  if (workers > total_segments) workers = total_segments;
  if (workers > 64) workers = 64;

  parallel_scan ps;
  memset(&ps, 0, sizeof ps);
  ps.c = c;
  ps.in = in;
  ps.total = total_segments;
  ps.on_page = on_page;
  ps.user = user;
  bool owned;
  dorm_status st = dorm__client_pool(c, workers, &ps.pool, &owned);
  if (st != DORM_OK) return dorm__client_fail(c, st, op, "cannot create a request pool");
  dorm_arena_init(&ps.page_arena, 0);
  for (uint32_t i = 0; i < workers; i++) ps_start_next(&ps);
  st = dorm_pool_run(ps.pool);
  if (st != DORM_OK) ps_fail(&ps, st, "the request pool failed");
  if (owned) dorm_pool_free(ps.pool);
  dorm_arena_free(&ps.page_arena);
  dorm__client_clear_error(c);
  if (ps.status != DORM_OK) return dorm__client_fail(c, ps.status, op, "%s", ps.errmsg);
  return DORM_OK;
}
