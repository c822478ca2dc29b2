/* The history table: one item per migration (id = its name) recording
 * status, checksum, per-file hashes, times, steps applied, the log and
 * backfill progress, plus the lock item (id = "#lock") with an owner and
 * an expiry, taken with a conditional put so that two deploys never run
 * at once. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine_internal.h"

#define ID "id"

int64_t dorm__mig_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether a request that failed after the client's retries is worth
 * sending again later: throttling, a 5xx, the network, a timeout, an
 * answer cut short or garbled. */
bool dorm__mig_transient(dorm_status st) {
  return st == DORM_ERR_THROTTLED || st == DORM_ERR_SERVICE || st == DORM_ERR_NETWORK || st == DORM_ERR_TIMEOUT ||
         st == DORM_ERR_BAD_RESPONSE;
}

/* The pause before sending a request again for the n-th time (1-based). */
long dorm__mig_pause_ms(unsigned n) {
  long ms = MIG_PAUSE_MS;
  for (unsigned k = 1; k < n && ms < MIG_MAX_PAUSE_MS; k++) ms *= 2;
  return ms > MIG_MAX_PAUSE_MS ? MIG_MAX_PAUSE_MS : ms;
}

void dorm__mig_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void dorm__mig_default_owner(char *buf, size_t cap) {
  char host[256] = "localhost";
  if (gethostname(host, sizeof host - 1) != 0) strcpy(host, "localhost");
  host[sizeof host - 1] = '\0';
  snprintf(buf, cap, "%s:%ld", host, (long)getpid());
}

static dorm_status hfail(mig_history *h, dorm_status st, const char *what) {
  /* The client's message names the operation already ("Scan: ..."). */
  const char *msg = dorm_client_errmsg(h->c);
  if (msg && *msg) return dorm__fail(h->errbuf, h->errcap, st, "history table %s, %s: %s", h->table, what, msg);
  return dorm__fail(h->errbuf, h->errcap, st, "history table %s, %s: %s", h->table, what, dorm_strerror(st));
}

dorm_status dorm__mh_ensure(mig_history *h, long timeout_ms) {
  dorm_status st = dorm_describe_table(h->c, h->table, NULL, NULL);
  if (st == DORM_OK) return DORM_OK;
  if (st != DORM_ERR_TABLE_NOT_FOUND) return hfail(h, st, "looking for it");
  dorm_table_def def;
  memset(&def, 0, sizeof def);
  def.name = h->table;
  def.pk.name = ID;
  def.pk.type = DORM_KEY_S;
  st = dorm_create_table(h->c, &def, NULL, NULL);
  if (st != DORM_OK && st != DORM_ERR_RESOURCE_IN_USE) return hfail(h, st, "creating it");
  st = dorm_wait_table_active(h->c, h->table, timeout_ms, NULL, NULL);
  return st == DORM_OK ? DORM_OK : hfail(h, st, "waiting for it");
}

static const char *get_s(const dorm_av *item, const char *name) {
  const dorm_av *v = dorm_av_map_get(item, name);
  return v && v->type == DORM_AV_S ? v->u.s.ptr : NULL;
}

static uint64_t get_u(const dorm_av *item, const char *name) {
  uint64_t u = 0;
  dorm_av_get_u64(dorm_av_map_get(item, name), &u);
  return u;
}

static dorm_mig_state state_from(const char *s) {
  if (!s) return DORM_MIG_PENDING;
  if (strcmp(s, "applied") == 0) return DORM_MIG_APPLIED;
  if (strcmp(s, "failed") == 0) return DORM_MIG_FAILED;
  if (strcmp(s, "running") == 0) return DORM_MIG_RUNNING;
  if (strcmp(s, "rolled_back") == 0) return DORM_MIG_ROLLED_BACK;
  return DORM_MIG_PENDING;
}

const char *dorm_mig_state_name(dorm_mig_state s) {
  switch (s) {
  case DORM_MIG_APPLIED: return "applied";
  case DORM_MIG_FAILED: return "failed";
  case DORM_MIG_RUNNING: return "running";
  case DORM_MIG_ROLLED_BACK: return "rolled_back";
  default: return "pending";
  }
}

static int cmp_rec(const void *a, const void *b) {
  return strcmp(((const mig_record *)a)->name, ((const mig_record *)b)->name);
}

dorm_status dorm__mh_load(mig_history *h, dorm_arena *a, mig_record **recs, size_t *n, bool *missing) {
  *recs = NULL;
  *n = 0;
  if (missing) *missing = false;
  size_t cap = 0;
  dorm_scan_input in;
  memset(&in, 0, sizeof in);
  in.table = h->table;
  in.consistent_read = true;
  dorm_av start;
  bool more = true;
  while (more) {
    dorm_page page;
    dorm_status st = dorm_scan(h->c, &in, a, &page);
    if (st == DORM_ERR_TABLE_NOT_FOUND) {
      if (missing) *missing = true;
      return DORM_OK;
    }
    if (st != DORM_OK) return hfail(h, st, "reading it");
    for (size_t i = 0; i < page.count; i++) {
      const dorm_av *item = &page.items[i];
      const char *id = get_s(item, ID);
      if (!id || strcmp(id, MIG_LOCK_ID) == 0) continue;
      if (*n == cap) {
        size_t nc = cap ? cap * 2 : 16;
        mig_record *bigger = dorm_arena_realloc(a, *recs, cap * sizeof **recs, nc * sizeof **recs);
        if (!bigger) return DORM_ERR_NO_MEMORY;
        *recs = bigger;
        cap = nc;
      }
      mig_record *r = &(*recs)[(*n)++];
      memset(r, 0, sizeof *r);
      r->name = id;
      r->state = state_from(get_s(item, "status"));
      r->checksum = get_s(item, "checksum");
      const dorm_av *files = dorm_av_map_get(item, "files");
      r->files = files && files->type == DORM_AV_M ? files : NULL;
      r->started = get_s(item, "started");
      r->finished = get_s(item, "finished");
      r->error = get_s(item, "error");
      r->steps_applied = (uint32_t)get_u(item, "steps_applied");
      r->step_count = (uint32_t)get_u(item, "step_count");
      r->item = item;
    }
    more = page.has_more;
    if (more) {
      start = page.last_key;
      in.start_key = &start;
    }
  }
  if (*n > 1) qsort(*recs, *n, sizeof **recs, cmp_rec);
  return DORM_OK;
}

const mig_record *dorm__mh_find(const mig_record *recs, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(recs[i].name, name) == 0) return &recs[i];
  return NULL;
}

void dorm__mh_progress_of(const mig_record *r, size_t step, mig_progress *p) {
  memset(p, 0, sizeof *p);
  if (!r || !r->item) return;
  char attr[32];
  snprintf(attr, sizeof attr, "backfill_%zu", step);
  const dorm_av *m = dorm_av_map_get(r->item, attr);
  if (!m || m->type != DORM_AV_M) return;
  uint64_t segs = get_u(m, "segments");
  const dorm_av *pos = dorm_av_map_get(m, "positions");
  const dorm_av *dn = dorm_av_map_get(m, "segments_done");
  if (segs > MIG_MAX_SEGMENTS || !pos || pos->type != DORM_AV_L || pos->u.list.count != segs) segs = 0;
  p->segments = (uint32_t)segs;
  for (uint32_t i = 0; i < p->segments; i++) {
    const dorm_av *v = &pos->u.list.items[i];
    p->positions[i] = v->type == DORM_AV_S ? v->u.s.ptr : NULL;
    p->seg_done[i] = dn && dn->type == DORM_AV_L && i < dn->u.list.count && dn->u.list.items[i].type == DORM_AV_BOOL &&
                     dn->u.list.items[i].u.boolean;
  }
  p->scanned = get_u(m, "scanned");
  p->updated = get_u(m, "updated");
  p->unchanged = get_u(m, "unchanged");
  p->skipped = get_u(m, "skipped");
  p->failed = get_u(m, "failed");
  p->model = get_s(m, "model");
  const dorm_av *attrs = dorm_av_map_get(m, "attributes");
  for (size_t i = 0; attrs && attrs->type == DORM_AV_L && i < attrs->u.list.count && p->fill_count < MIG_MAX_FILLS;
       i++) {
    const dorm_av *e = &attrs->u.list.items[i];
    const char *attr = e->type == DORM_AV_M ? get_s(e, "attribute") : NULL;
    if (!attr) continue;
    struct mig_fill_count *f = &p->fills[p->fill_count++];
    f->attr = attr;
    f->written = get_u(e, "written");
    f->unchanged = get_u(e, "unchanged");
    f->skipped = get_u(e, "skipped");
    const char *why = get_s(e, "reason");
    snprintf(f->reason, sizeof f->reason, "%s", why ? why : "");
  }
  const dorm_av *done = dorm_av_map_get(m, "done");
  p->done = done && done->type == DORM_AV_BOOL && done->u.boolean;
}

const char *dorm__mh_changed_file(const mig_record *r, const dorm_mig_entry *m, dorm_arena *a) {
  if (!r->files) return r->checksum && strcmp(r->checksum, m->hash) != 0 ? "(a file)" : NULL;
  for (size_t i = 0; i < m->file_count; i++) {
    const char *h = get_s(r->files, m->files[i].name);
    if (!h || strcmp(h, m->files[i].hash) != 0) return m->files[i].name;
  }
  for (size_t i = 0; i < r->files->u.map.count; i++) {
    const dorm_str *name = &r->files->u.map.items[i].name;
    bool found = false;
    for (size_t k = 0; k < m->file_count && !found; k++)
      found = strlen(m->files[k].name) == name->len && memcmp(m->files[k].name, name->ptr, name->len) == 0;
    if (!found) return dorm_arena_strndup(a, name->ptr, name->len);
  }
  return NULL;
}

/* ---- the lock ---- */

static dorm_av key_of(const char *id, dorm_arena *a) {
  dorm_av key = dorm_av_empty(DORM_AV_M);
  dorm_av_map_set(a, &key, ID, dorm_av_str(id));
  return key;
}

/* On our host, is the holder's process gone? Then its lock is stale. */
static bool holder_dead(const char *holder) {
  char me[300];
  dorm__mig_default_owner(me, sizeof me);
  const char *colon = strrchr(holder, ':'), *mycolon = strrchr(me, ':');
  if (!colon || !mycolon || colon - holder != mycolon - me || memcmp(holder, me, (size_t)(colon - holder)) != 0)
    return false;
  char *end;
  long pid = strtol(colon + 1, &end, 10);
  if (*end || pid <= 0) return false;
  return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static dorm_status put_lock(mig_history *h, const char *steal_from, dorm_av *old, bool *had_old, dorm_arena *a) {
  int64_t now = dorm__mig_now_ms();
  char expires[32], since[32];
  snprintf(expires, sizeof expires, "%lld", (long long)(now + h->lock_ttl_ms));
  dorm__mig_now_text(since);
  dorm_av item = key_of(MIG_LOCK_ID, a);
  dorm_av_map_set(a, &item, "owner", dorm_av_str(h->owner));
  dorm_av_map_set(a, &item, "expires", dorm_av_num(expires));
  dorm_av_map_set(a, &item, "since", dorm_av_str(since));
  dorm_expr x;
  dorm_expr_init(&x, a);
  char nowtext[32];
  snprintf(nowtext, sizeof nowtext, "%lld", (long long)now);
  dorm_cond *cond;
  if (steal_from) {
    cond = dorm_cond_eq(&x, "owner", dorm_av_str(steal_from));
  } else {
    cond = dorm_cond_any(&x,
                         (dorm_cond *[]){dorm_cond_not_exists(&x, ID),
                                         dorm_cond_cmp(&x, "expires", DORM_LT, dorm_av_num(nowtext)),
                                         dorm_cond_eq(&x, "owner", dorm_av_str(h->owner))},
                         3);
  }
  dorm_expr_condition(&x, cond);
  dorm_put_input in = {.table = h->table, .item = &item, .expr = &x, .return_old_on_condition_failure = true};
  dorm_write_result res;
  dorm_status st = dorm_put_item(h->c, &in, a, &res);
  if (st == DORM_OK) {
    h->lock_expires_ms = now + h->lock_ttl_ms;
    h->renewed_ms = now;
  } else if (st == DORM_ERR_CONDITION_FAILED) {
    *had_old = res.present;
    if (res.present) *old = res.attributes;
  }
  return st;
}

dorm_status dorm__mh_lock(mig_history *h, long wait_ms) {
  int64_t deadline = dorm__mig_now_ms() + (wait_ms > 0 ? wait_ms : 0);
  int retries_left = 3;
  for (;;) {
    dorm_arena a = DORM_ARENA_INIT;
    dorm_av old;
    bool had_old = false;
    dorm_status st = put_lock(h, NULL, &old, &had_old, &a);
    if (st == DORM_ERR_CONDITION_FAILED && had_old) {
      const char *holder = get_s(&old, "owner");
      if (holder && holder_dead(holder)) {
        char *copy = strdup(holder);
        st = copy ? put_lock(h, copy, &old, &had_old, &a) : DORM_ERR_NO_MEMORY;
        free(copy);
      }
    }
    if (st != DORM_ERR_CONDITION_FAILED) {
      dorm_arena_free(&a);
      return st == DORM_OK ? DORM_OK : hfail(h, st, "taking the lock");
    }
    if (!had_old && retries_left-- > 0) {
      dorm_arena_free(&a); /* released between our put and its read: try again */
      continue;
    }
    if (dorm__mig_now_ms() >= deadline) {
      const char *holder = had_old ? get_s(&old, "owner") : NULL;
      const char *since = had_old ? get_s(&old, "since") : NULL;
      uint64_t expires = had_old ? get_u(&old, "expires") : 0;
      long long left = (long long)((int64_t)expires - dorm__mig_now_ms()) / 1000;
      dorm__fail(h->errbuf, h->errcap, DORM_ERR_RESOURCE_IN_USE,
               "the migration lock in %s is held by %s (since %s, expires in %lld s): another deploy is running; "
               "wait for it (--lock-wait SECONDS), or, if it died on another host, until its lock expires",
               h->table, holder ? holder : "?", since ? since : "?", left > 0 ? left : 0);
      dorm_arena_free(&a);
      return DORM_ERR_RESOURCE_IN_USE;
    }
    dorm_arena_free(&a);
    dorm__mig_sleep_ms(500);
  }
}

dorm_status dorm__mh_renew(mig_history *h) {
  if (!h || !h->lock_expires_ms) return DORM_OK;
  int64_t now = dorm__mig_now_ms();
  if (now - h->renewed_ms < h->lock_ttl_ms / 4) return DORM_OK;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av key = key_of(MIG_LOCK_ID, &a);
  dorm_expr x;
  dorm_expr_init(&x, &a);
  char expires[32];
  snprintf(expires, sizeof expires, "%lld", (long long)(now + h->lock_ttl_ms));
  dorm_update_set(&x, "expires", dorm_av_num(expires));
  dorm_expr_condition(&x, dorm_cond_eq(&x, "owner", dorm_av_str(h->owner)));
  dorm_update_input in = {.table = h->table, .key = &key, .expr = &x};
  dorm_status st = dorm_update_item(h->c, &in, &a, NULL);
  dorm_arena_free(&a);
  if (st == DORM_ERR_CONDITION_FAILED) {
    h->lock_expires_ms = 0;
    return dorm__fail(h->errbuf, h->errcap, st, "lost the migration lock in %s (it expired and another deploy took "
                    "it); stopping", h->table);
  }
  if (st != DORM_OK) return hfail(h, st, "renewing the lock");
  h->lock_expires_ms = now + h->lock_ttl_ms;
  h->renewed_ms = now;
  return DORM_OK;
}

void dorm__mh_unlock(mig_history *h) {
  if (!h->lock_expires_ms) return;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av key = key_of(MIG_LOCK_ID, &a);
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_expr_condition(&x, dorm_cond_eq(&x, "owner", dorm_av_str(h->owner)));
  dorm_delete_input in = {.table = h->table, .key = &key, .expr = &x};
  dorm_delete_item(h->c, &in, &a, NULL); /* an expired lease is gone already: nothing to undo */
  dorm_arena_free(&a);
  h->lock_expires_ms = 0;
}

/* ---- records ---- */

static dorm_av files_av(const dorm_mig_entry *m, dorm_arena *a) {
  dorm_av files = dorm_av_empty(DORM_AV_M);
  for (size_t i = 0; i < m->file_count; i++) dorm_av_map_set(a, &files, m->files[i].name, dorm_av_str(m->files[i].hash));
  return files;
}

static dorm_av log_av(const char *const *log, size_t n, dorm_arena *a) {
  dorm_av l = dorm_av_empty(DORM_AV_L);
  for (size_t i = 0; i < n; i++) {
    dorm_av *slot = dorm_av_list_push(a, &l);
    if (slot) *slot = dorm_av_str(log[i]);
  }
  return l;
}

static dorm_status update(mig_history *h, const char *name, dorm_expr *x, dorm_arena *a, const char *what) {
  dorm_av key = key_of(name, a);
  dorm_update_input in = {.table = h->table, .key = &key, .expr = x};
  if (dorm_expr_status(x) != DORM_OK)
    return dorm__fail(h->errbuf, h->errcap, dorm_expr_status(x), "history: %s", dorm_expr_errmsg(x));
  dorm_status st = dorm_update_item(h->c, &in, a, NULL);
  return st == DORM_OK ? DORM_OK : hfail(h, st, what);
}

static void append_log(dorm_expr *x, const char *const *log, size_t nlog, dorm_arena *a) {
  if (!nlog) return;
  dorm_operand *path = dorm_opd_path(x, "log");
  dorm_operand *cur = dorm_opd_if_not_exists(x, dorm_opd_path(x, "log"), dorm_opd_value(x, dorm_av_empty(DORM_AV_L)));
  dorm_update_set_opd(x, path, dorm_opd_list_append(x, cur, dorm_opd_value(x, log_av(log, nlog, a))));
}

dorm_status dorm__mh_begin(mig_history *h, const dorm_mig_entry *m, size_t step_count, bool fresh) {
  dorm_arena a = DORM_ARENA_INIT;
  char now[32], steps[24];
  dorm__mig_now_text(now);
  snprintf(steps, sizeof steps, "%zu", step_count);
  dorm_status st;
  if (fresh) {
    dorm_av item = key_of(m->name, &a);
    dorm_av_map_set(&a, &item, "status", dorm_av_str("running"));
    dorm_av_map_set(&a, &item, "checksum", dorm_av_str(m->hash));
    dorm_av_map_set(&a, &item, "files", files_av(m, &a));
    dorm_av_map_set(&a, &item, "started", dorm_av_str(now));
    dorm_av_map_set(&a, &item, "steps_applied", dorm_av_num("0"));
    dorm_av_map_set(&a, &item, "step_count", dorm_av_num(steps));
    dorm_av_map_set(&a, &item, "log", dorm_av_empty(DORM_AV_L));
    dorm_put_input in = {.table = h->table, .item = &item};
    st = dorm_put_item(h->c, &in, &a, NULL);
    if (st != DORM_OK) st = hfail(h, st, "recording the start");
  } else {
    dorm_expr x;
    dorm_expr_init(&x, &a);
    dorm_update_set(&x, "status", dorm_av_str("running"));
    dorm_update_set(&x, "resumed", dorm_av_str(now));
    dorm_update_remove(&x, "error");
    st = update(h, m->name, &x, &a, "recording the resume");
  }
  dorm_arena_free(&a);
  return st;
}

dorm_status dorm__mh_step(mig_history *h, const char *name, uint32_t steps_applied, const char *const *log, size_t nlog) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_expr x;
  dorm_expr_init(&x, &a);
  char n[24];
  snprintf(n, sizeof n, "%u", steps_applied);
  dorm_update_set(&x, "steps_applied", dorm_av_num(n));
  append_log(&x, log, nlog, &a);
  dorm_status st = update(h, name, &x, &a, "recording a step");
  dorm_arena_free(&a);
  return st;
}

dorm_status dorm__mh_end(mig_history *h, const char *name, dorm_mig_state state, const char *error,
                   const char *const *log, size_t nlog) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_expr x;
  dorm_expr_init(&x, &a);
  char now[32];
  dorm__mig_now_text(now);
  dorm_update_set(&x, "status", dorm_av_str(dorm_mig_state_name(state)));
  if (state == DORM_MIG_APPLIED) dorm_update_set(&x, "finished", dorm_av_str(now));
  else dorm_update_set(&x, "failed_at", dorm_av_str(now));
  if (error) dorm_update_set(&x, "error", dorm_av_str(error));
  append_log(&x, log, nlog, &a);
  dorm_status st = update(h, name, &x, &a, "recording the end");
  dorm_arena_free(&a);
  return st;
}

dorm_status dorm__mh_progress(mig_history *h, const char *name, size_t step, const mig_progress *p) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av m = dorm_av_empty(DORM_AV_M);
  dorm_av pos = dorm_av_empty(DORM_AV_L), dn = dorm_av_empty(DORM_AV_L);
  for (uint32_t i = 0; i < p->segments; i++) {
    dorm_av *slot = dorm_av_list_push(&a, &pos);
    if (slot) *slot = p->positions[i] ? dorm_av_str(p->positions[i]) : dorm_av_null();
    slot = dorm_av_list_push(&a, &dn);
    if (slot) *slot = dorm_av_bool(p->seg_done[i]);
  }
  dorm_av segs;
  if (dorm_av_num_u64(&a, p->segments, &segs) == DORM_OK) dorm_av_map_set(&a, &m, "segments", segs);
  dorm_av_map_set(&a, &m, "positions", pos);
  dorm_av_map_set(&a, &m, "segments_done", dn);
  const struct {
    const char *name;
    uint64_t v;
  } counts[] = {{"scanned", p->scanned}, {"updated", p->updated}, {"unchanged", p->unchanged},
                {"skipped", p->skipped}, {"failed", p->failed}};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    dorm_av v;
    if (dorm_av_num_u64(&a, counts[i].v, &v) == DORM_OK) dorm_av_map_set(&a, &m, counts[i].name, v);
  }
  if (p->model) dorm_av_map_set(&a, &m, "model", dorm_av_str(p->model));
  dorm_av attrs = dorm_av_empty(DORM_AV_L);
  for (uint32_t i = 0; i < p->fill_count; i++) {
    const struct mig_fill_count *f = &p->fills[i];
    dorm_av *slot = dorm_av_list_push(&a, &attrs);
    if (!slot) break;
    *slot = dorm_av_empty(DORM_AV_M);
    dorm_av_map_set(&a, slot, "attribute", dorm_av_str(f->attr));
    const struct {
      const char *name;
      uint64_t v;
    } per[] = {{"written", f->written}, {"unchanged", f->unchanged}, {"skipped", f->skipped}};
    for (size_t k = 0; k < sizeof per / sizeof per[0]; k++) {
      dorm_av v;
      if (dorm_av_num_u64(&a, per[k].v, &v) == DORM_OK) dorm_av_map_set(&a, slot, per[k].name, v);
    }
    if (f->reason[0]) dorm_av_map_set(&a, slot, "reason", dorm_av_str(f->reason));
  }
  dorm_av_map_set(&a, &m, "attributes", attrs);
  dorm_av_map_set(&a, &m, "done", dorm_av_bool(p->done));
  dorm_expr x;
  dorm_expr_init(&x, &a);
  char attr[32];
  snprintf(attr, sizeof attr, "backfill_%zu", step);
  dorm_update_set(&x, attr, m);
  dorm_status st = update(h, name, &x, &a, "recording backfill progress");
  dorm_arena_free(&a);
  return st;
}

dorm_status dorm__mh_resolve(mig_history *h, const dorm_mig_entry *m, size_t step_count, dorm_mig_state state) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_expr x;
  dorm_expr_init(&x, &a);
  char now[32], steps[24];
  dorm__mig_now_text(now);
  snprintf(steps, sizeof steps, "%zu", step_count);
  dorm_update_set(&x, "status", dorm_av_str(dorm_mig_state_name(state)));
  dorm_update_set(&x, "checksum", dorm_av_str(m->hash));
  dorm_update_set(&x, "files", files_av(m, &a));
  dorm_update_set(&x, "step_count", dorm_av_num(steps));
  dorm_update_set(&x, "resolved", dorm_av_str(now));
  if (state == DORM_MIG_APPLIED) {
    dorm_update_set(&x, "steps_applied", dorm_av_num(steps));
    dorm_update_set(&x, "finished", dorm_av_str(now));
    dorm_update_set_if_not_exists(&x, "started", dorm_av_str(now));
  } else {
    dorm_update_set(&x, "steps_applied", dorm_av_num("0"));
  }
  const char *line = dorm_arena_printf(&a, "%s resolved as %s by %s", now, dorm_mig_state_name(state), h->owner);
  append_log(&x, &line, 1, &a);
  dorm_status st = update(h, m->name, &x, &a, "recording the resolution");
  dorm_arena_free(&a);
  return st;
}
