/* Query and Scan: single pages, the pager, and parallel scan. */
#include "ops_common.h"

#include <pthread.h>
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

/* Sends the request in the writer and reads one page. */
static dorm_status read_page(dorm_client *c, const char *op, dorm_arena *a, dorm_page *page) {
  memset(page, 0, sizeof *page);
  page->last_key = dorm_av_empty(DORM_AV_M);
  const char *resp;
  size_t len;
  dorm_status st = dorm__client_send(c, op, &resp, &len);
  if (st != DORM_OK) return st;
  cJSON *root;
  st = dorm__ops_parse_fast(c, op, resp, len, &root);
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
    page->has_more = st == DORM_OK;
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
  return read_page(c, op, a, page);
}

dorm_status dorm_scan(dorm_client *c, const dorm_scan_input *in, dorm_arena *a, dorm_page *page) {
  static const char op[] = "Scan";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, in && in->table && a && page, "table, arena and page are required");
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
  return read_page(c, op, a, page);
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
  dorm_status st;
  if (p->is_scan) {
    dorm_scan_input in = p->scan;
    in.start_key = start;
    st = dorm_scan(p->client, &in, a, page);
  } else {
    dorm_query_input in = p->query;
    in.start_key = start;
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

/* ---- parallel scan ---- */

typedef struct parallel_scan {
  dorm_client *origin;
  const dorm_scan_input *in;
  uint32_t total, next_segment;
  dorm_page_fn on_page;
  void *user;
  pthread_mutex_t lock;
  bool stop;
  dorm_status status;
  char errmsg[1024];
} parallel_scan;

/* Records the first failure; later ones are consequences of the stop. */
static void ps_fail(parallel_scan *ps, dorm_status st, const char *msg) {
  if (ps->status == DORM_OK) {
    ps->status = st;
    snprintf(ps->errmsg, sizeof ps->errmsg, "%s", msg);
  }
  ps->stop = true;
}

static dorm_status scan_segment(parallel_scan *ps, dorm_client *c, uint32_t segment) {
  dorm_scan_input in = *ps->in;
  in.segment = segment;
  in.total_segments = ps->total;
  dorm_pager p;
  dorm_pager_init_scan(&p, c, &in);
  dorm_arena a = DORM_ARENA_INIT;
  dorm_page page;
  dorm_status st;
  for (;;) {
    pthread_mutex_lock(&ps->lock);
    bool stop = ps->stop;
    pthread_mutex_unlock(&ps->lock);
    if (stop) {
      st = DORM_OK;
      break;
    }
    st = dorm_pager_next(&p, &a, &page);
    if (st != DORM_OK) {
      pthread_mutex_lock(&ps->lock);
      ps_fail(ps, st, dorm_client_errmsg(c));
      pthread_mutex_unlock(&ps->lock);
      break;
    }
    if (p.done) break;
    pthread_mutex_lock(&ps->lock);
    if (!ps->stop) {
      st = ps->on_page(ps->user, segment, &page);
      if (st != DORM_OK) ps_fail(ps, st, "Scan: the page callback stopped the scan");
    }
    pthread_mutex_unlock(&ps->lock);
    dorm_arena_reset(&a);
    if (st != DORM_OK) break;
  }
  dorm_arena_free(&a);
  dorm_pager_free(&p);
  return st;
}

static void *scan_worker(void *arg) {
  parallel_scan *ps = arg;
  dorm_client *c = dorm_client_clone(ps->origin);
  if (!c) {
    pthread_mutex_lock(&ps->lock);
    ps_fail(ps, DORM_ERR_NO_MEMORY, "Scan: cannot create a client for a worker thread");
    pthread_mutex_unlock(&ps->lock);
    return NULL;
  }
  for (;;) {
    pthread_mutex_lock(&ps->lock);
    bool stop = ps->stop || ps->next_segment >= ps->total;
    uint32_t segment = ps->next_segment++;
    pthread_mutex_unlock(&ps->lock);
    if (stop || scan_segment(ps, c, segment) != DORM_OK) break;
  }
  dorm_client_free(c);
  return NULL;
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
  ps.origin = c;
  ps.in = in;
  ps.total = total_segments;
  ps.on_page = on_page;
  ps.user = user;
  if (pthread_mutex_init(&ps.lock, NULL) != 0)
    return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "cannot create a mutex");

  pthread_t threads[64];
  uint32_t started = 0;
  for (; started < workers; started++) {
    if (pthread_create(&threads[started], NULL, scan_worker, &ps) != 0) {
      pthread_mutex_lock(&ps.lock);
      if (started == 0) ps_fail(&ps, DORM_ERR_NO_MEMORY, "Scan: cannot start a worker thread");
      pthread_mutex_unlock(&ps.lock);
      break; /* the threads already running finish the segments */
    }
  }
  for (uint32_t i = 0; i < started; i++) pthread_join(threads[i], NULL);
  pthread_mutex_destroy(&ps.lock);
  if (ps.status != DORM_OK) {
    const char *msg = strncmp(ps.errmsg, "Scan: ", 6) == 0 ? ps.errmsg + 6 : ps.errmsg;
    return dorm__client_fail(c, ps.status, op, "%s", msg);
  }
  return DORM_OK;
}
