/* BatchGetItem and BatchWriteItem over any number of entries: chunking,
 * de-duplication of keys, matching responses to requests, and retrying the
 * unprocessed part with backoff.
 *
 * Every entry is checked before the first request: a bad entry fails the
 * call, named with the path inside it, before anything is sent. One request
 * at a time, each entry's text is kept from the check and retries resend it;
 * with requests in flight (a bulk write) the check only walks the entry and
 * its text is written once, into its request as the chunk goes out. */
#include "ops_common.h"

#include "dorm/pool.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_GET_CHUNK 100
#define BATCH_WRITE_CHUNK 25
#define BATCH_DEFAULT_ROUNDS 8

/* ---- shared helpers ---- */

/* Writes item as JSON text into the arena, with `where` naming it in errors.
 * With tmp NULL it only checks that the item can be written (*json NULL),
 * without writing it: the text is written once, into its request. */
static dorm_status encode_item(dorm_client *c, const char *op, dorm_jw *w, dorm_arena *tmp,
                               const dorm_av *item, const char *where, const char **json, size_t *len) {
  dorm__jw_reset(w);
  if (!tmp) {
    *json = NULL;
    *len = 0;
    dorm_status st = dorm__jw_check_item(w, item, where);
    return st == DORM_OK ? DORM_OK : dorm__client_fail(c, st, op, "%s", w->err);
  }
  dorm__jw_item(w, item, where);
  const char *text;
  size_t n;
  dorm_status st = dorm__jw_finish(w, &text, &n);
  if (st != DORM_OK) return dorm__client_fail(c, st, op, "%s", w->err);
  char *copy = dorm_arena_memdup(tmp, text, n);
  if (!copy && n) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  *json = copy;
  *len = n;
  return DORM_OK;
}

/* Distinct table names of a chunk, in order of first appearance. tables
 * must hold as many pointers as the chunk has entries. */
static size_t chunk_tables(const char *const *names, size_t m, const char **tables) {
  size_t nt = 0;
  for (size_t i = 0; i < m; i++) {
    size_t j = 0;
    while (j < nt && strcmp(tables[j], names[i]) != 0) j++;
    if (j == nt) tables[nt++] = names[i];
  }
  return nt;
}

/* True when every attribute of key is in item with an equal value. */
static bool key_matches(const dorm_av *key, const dorm_av *item) {
  for (size_t i = 0; i < key->u.map.count; i++) {
    const dorm_av_entry *e = &key->u.map.items[i];
    const dorm_av *v = dorm_av_map_getn(item, e->name.ptr, e->name.len);
    if (!v || !dorm_av_equal(&e->value, v)) return false;
  }
  return true;
}

/* After a round: decides whether to go on, and waits before the next one.
 * stalls counts consecutive rounds in which nothing was resolved. */
static dorm_status between_rounds(dorm_client *c, const char *op, bool progress, uint32_t *stalls,
                                  uint32_t max_rounds, size_t left, size_t total, const char *what,
                                  const char *member) {
  if (progress) *stalls = 0;
  else if (++*stalls >= max_rounds)
    return dorm__client_fail(c, DORM_ERR_THROTTLED, op,
                            "%zu of %zu %s still unprocessed after %u rounds without progress "
                            "(DynamoDB kept returning them in %s)",
                            left, total, what, (unsigned)max_rounds, member);
  /* Retry k of the backoff schedule: the k-th round in a row without progress
   * (1 after a round that made some). */
  dorm__client_sleep_ms(c, dorm__client_backoff_ms(c, *stalls ? (int)*stalls : 1));
  return DORM_OK;
}

/* Requests in flight at once for a batch call (dorm/pool.h). */
static unsigned in_flight_of(uint32_t v) { return v == 0 ? 8u : v > 1024 ? 1024u : (unsigned)v; }

/* ---- BatchGetItem ---- */

typedef struct bg_key {
  const char *table;
  const dorm_av *key;
  const char *json;    /* the key as JSON text (tmp arena) */
  size_t json_len;
  uint64_t hash;
  dorm_av item;        /* the item found (result arena) */
  bool found;
  bool got, unprocessed; /* per request */
} bg_key;

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

#define FNV_START 14695981039346656037ULL

/* A hash of a value that agrees with dorm_av_equal: numbers hash their
 * sign and significant digits only, so "1", "1.0" and "10E-1" collide as
 * they must. Types other than key types hash their type alone. */
static uint64_t value_hash(const dorm_av *v) {
  unsigned char t = (unsigned char)v->type;
  uint64_t h = fnv(FNV_START, &t, 1);
  if (v->type == DORM_AV_S || v->type == DORM_AV_B) return fnv(h, v->u.s.ptr, v->u.s.len);
  if (v->type != DORM_AV_N) return h;
  const char *s = v->u.s.ptr;
  size_t n = v->u.s.len, end = 0;
  while (end < n && s[end] != 'e' && s[end] != 'E') end++;
  size_t first = 0, last = 0; /* significant digits: [first, last) over digit positions */
  bool any = false;
  for (size_t i = 0; i < end; i++) {
    if (s[i] < '0' || s[i] > '9') continue;
    if (s[i] != '0') {
      if (!any) first = i;
      any = true;
      last = i + 1;
    }
  }
  if (!any) return fnv(h, "0", 1);
  if (s[0] == '-') h = fnv(h, "-", 1);
  for (size_t i = first; i < last; i++)
    if (s[i] >= '0' && s[i] <= '9') h = fnv(h, &s[i], 1);
  return h;
}

/* Table plus key, independent of the order of the key's attributes. */
static uint64_t key_hash(const char *table, const dorm_av *key) {
  uint64_t h = fnv(FNV_START, table, strlen(table)), sum = 0;
  for (size_t i = 0; i < key->u.map.count; i++) {
    const dorm_av_entry *e = &key->u.map.items[i];
    sum += fnv(FNV_START, e->name.ptr, e->name.len) * 31 + value_hash(&e->value);
  }
  return h ^ (sum * 0x9E3779B97F4A7C15ULL);
}

/* Finds the unique key equal to (table, key) or adds it. slots: open
 * addressing table of (index + 1), cap a power of two. */
static size_t bg_intern(bg_key *u, size_t *nu, size_t *slots, size_t cap, const dorm_batch_get_entry *e,
                        uint64_t hash) {
  size_t i = (size_t)hash & (cap - 1);
  for (; slots[i]; i = (i + 1) & (cap - 1)) {
    bg_key *k = &u[slots[i] - 1];
    if (k->hash == hash && strcmp(k->table, e->table) == 0 && dorm_av_equal(k->key, e->key))
      return slots[i] - 1;
  }
  size_t idx = (*nu)++;
  memset(&u[idx], 0, sizeof u[idx]);
  u[idx].table = e->table;
  u[idx].key = e->key;
  u[idx].hash = hash;
  slots[i] = idx + 1;
  return idx;
}

/* Writes the BatchGetItem body for the unique keys chunk[0..m) into w. */
static void bg_build(dorm_jw *w, bg_key *u, const size_t *chunk, size_t m, bool consistent) {
  const char *names[BATCH_GET_CHUNK], *tables[BATCH_GET_CHUNK];
  for (size_t i = 0; i < m; i++) names[i] = u[chunk[i]].table;
  size_t nt = chunk_tables(names, m, tables);
  dorm__jw_begin_object(w);
  dorm__jw_key(w, "RequestItems");
  dorm__jw_begin_object(w);
  for (size_t t = 0; t < nt; t++) {
    dorm__jw_key(w, tables[t]);
    dorm__jw_begin_object(w);
    dorm__jw_key(w, "Keys");
    dorm__jw_begin_array(w);
    for (size_t i = 0; i < m; i++)
      if (names[i] == tables[t] || strcmp(names[i], tables[t]) == 0)
        dorm__jw_raw_value(w, u[chunk[i]].json, u[chunk[i]].json_len);
    dorm__jw_end_array(w);
    if (consistent) {
      dorm__jw_key(w, "ConsistentRead");
      dorm__jw_bool(w, true);
    }
    dorm__jw_end_object(w);
  }
  dorm__jw_end_object(w);
  dorm__jw_end_object(w);
}

/* Reads a BatchGetItem response to the keys chunk[0..m) and records, per
 * key, whether it came back (got, item in a), was unprocessed, or is
 * missing. Failures are reported through the client. */
static dorm_status bg_apply(dorm_client *c, bg_key *u, const size_t *chunk, size_t m, const char *resp,
                            size_t len, dorm_arena *a, dorm_arena *scratch) {
  static const char op[] = "BatchGetItem";
  for (size_t i = 0; i < m; i++) u[chunk[i]].got = u[chunk[i]].unprocessed = false;
  cJSON *root;
  dorm_status st = dorm__ops_parse_fast(c, op, resp, len, &root);
  if (st != DORM_OK) return st;

  char err[256];
  const cJSON *responses = cJSON_GetObjectItemCaseSensitive(root, "Responses");
  const cJSON *tab;
  if (responses && !cJSON_IsObject(responses)) {
    st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: Responses is not an object");
    goto done;
  }
  cJSON_ArrayForEach(tab, responses) {
    if (!cJSON_IsArray(tab)) {
      st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: Responses.%s is not an array",
                            tab->string ? tab->string : "?");
      goto done;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, tab) {
      dorm_av item;
      st = dorm__json_to_item(it, a, &item, "Responses[]", err, sizeof err);
      if (st != DORM_OK) {
        st = dorm__client_fail(c, st, op, "response: %s", err);
        goto done;
      }
      size_t i = 0;
      for (; i < m; i++) {
        bg_key *k = &u[chunk[i]];
        if (!k->got && strcmp(k->table, tab->string) == 0 && key_matches(k->key, &item)) {
          k->got = true;
          k->item = item;
          break;
        }
      }
      if (i == m) {
        st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op,
                              "response: an item of table %s matches none of the keys requested",
                              tab->string);
        goto done;
      }
    }
  }

  const cJSON *unproc = cJSON_GetObjectItemCaseSensitive(root, "UnprocessedKeys");
  if (unproc && !cJSON_IsObject(unproc)) {
    st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: UnprocessedKeys is not an object");
    goto done;
  }
  cJSON_ArrayForEach(tab, unproc) {
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(tab, "Keys");
    if (!cJSON_IsArray(keys)) {
      st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: UnprocessedKeys.%s has no Keys array",
                            tab->string ? tab->string : "?");
      goto done;
    }
    const cJSON *kj;
    cJSON_ArrayForEach(kj, keys) {
      dorm_av key;
      st = dorm__json_to_item(kj, scratch, &key, "UnprocessedKeys[]", err, sizeof err);
      if (st != DORM_OK) {
        st = dorm__client_fail(c, st, op, "response: %s", err);
        goto done;
      }
      size_t i = 0;
      for (; i < m; i++) {
        bg_key *k = &u[chunk[i]];
        if (!k->unprocessed && !k->got && strcmp(k->table, tab->string) == 0 && dorm_av_equal(k->key, &key)) {
          k->unprocessed = true;
          break;
        }
      }
      if (i == m) {
        st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op,
                              "response: an unprocessed key of table %s was not requested", tab->string);
        goto done;
      }
    }
  }
done:
  dorm__json_free(root);
  return st;
}

/* Sends one BatchGetItem for the unique keys chunk[0..m) and reads the answer. */
static dorm_status bg_request(dorm_client *c, bg_key *u, const size_t *chunk, size_t m, bool consistent,
                              dorm_arena *a, dorm_arena *scratch) {
  dorm_jw *w = dorm__client_writer(c);
  bg_build(w, u, chunk, m, consistent);
  const char *resp;
  size_t len;
  dorm_status st = dorm__client_send(c, "BatchGetItem", &resp, &len);
  if (st != DORM_OK) return st;
  return bg_apply(c, u, chunk, m, resp, len, a, scratch);
}

static dorm_status bg_run_pooled(dorm_client *c, bg_key *u, size_t nu, const size_t *order, bool consistent,
                                 dorm_arena *a, uint32_t max_rounds, unsigned in_flight);

static dorm_status bg_run(dorm_client *c, bg_key *u, size_t nu, const dorm_batch_get_options *opts,
                          dorm_arena *a, dorm_arena *scratch) {
  static const char op[] = "BatchGetItem";
  size_t *pending = malloc((nu ? nu : 1) * sizeof *pending);
  if (!pending) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  for (size_t i = 0; i < nu; i++) pending[i] = i;
  size_t npend = nu;
  uint32_t max_rounds = opts && opts->max_rounds ? opts->max_rounds : BATCH_DEFAULT_ROUNDS, stalls = 0;
  bool consistent = opts && opts->consistent_read;
  unsigned in_flight = in_flight_of(opts ? opts->max_in_flight : 0);
  if (in_flight > 1 && nu > BATCH_GET_CHUNK) {
    dorm_status st = bg_run_pooled(c, u, nu, pending, consistent, a, max_rounds, in_flight);
    free(pending);
    return st;
  }
  dorm_status st = DORM_OK;
  while (npend > 0) {
    size_t next = 0;
    bool progress = false;
    for (size_t off = 0; off < npend; off += BATCH_GET_CHUNK) {
      size_t m = npend - off < BATCH_GET_CHUNK ? npend - off : BATCH_GET_CHUNK;
      dorm_arena_reset(scratch);
      st = bg_request(c, u, pending + off, m, consistent, a, scratch);
      if (st != DORM_OK) goto out;
      for (size_t i = 0; i < m; i++) {
        size_t k = pending[off + i];
        if (u[k].unprocessed) {
          pending[next++] = k; /* next <= off + i: compaction in place is safe */
          continue;
        }
        progress = true;
        u[k].found = u[k].got;
      }
    }
    npend = next;
    if (npend == 0) break;
    st = between_rounds(c, op, progress, &stalls, max_rounds, npend, nu, "keys", "UnprocessedKeys");
    if (st != DORM_OK) break;
  }
out:
  free(pending);
  return st;
}

/* The table every entry names, or NULL when they name several: a missing
 * table is named in the error only when there is no doubt which it is
 * (dorm__ops_table_failed). Called on failure only. tables[i * stride]. */
static const char *one_table(const char *const *first, size_t n, size_t stride) {
  const char *t = first[0];
  for (size_t i = 1; i < n; i++)
    if (strcmp(*(const char *const *)((const char *)first + i * stride), t) != 0) return NULL;
  return t;
}

dorm_status dorm_batch_get(dorm_client *c, const dorm_batch_get_entry *entries, size_t n,
                           const dorm_batch_get_options *opts, dorm_arena *a, dorm_av *items,
                           size_t *found) {
  static const char op[] = "BatchGetItem";
  dorm__client_clear_error(c);
  if (found) *found = 0;
  OPS_REQUIRE(c, op, n == 0 || (entries && items && a), "entries, items and an arena are required");
  if (n == 0) return DORM_OK;
  OPS_REQUIRE(c, op, n <= SIZE_MAX / 4 / sizeof(bg_key), "too many entries");
  memset(items, 0, n * sizeof *items);

  for (size_t i = 0; i < n; i++) {
    if (!entries[i].table || !*entries[i].table)
      return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "entries[%zu]: no table name", i);
    char what[48];
    snprintf(what, sizeof what, "entries[%zu].key", i);
    dorm_status st = dorm__ops_check_item(c, op, entries[i].key, what);
    if (st != DORM_OK) return st;
    if (entries[i].key->u.map.count == 0)
      return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s has no attributes", what);
    if ((st = dorm__ops_check_key_names(c, op, entries[i].key, what)) != DORM_OK) return st;
  }

  size_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  bg_key *u = malloc(n * sizeof *u);
  size_t *uidx = malloc(n * sizeof *uidx);
  size_t *slots = calloc(cap, sizeof *slots);
  dorm_arena tmp = DORM_ARENA_INIT, scratch = DORM_ARENA_INIT;
  dorm_jw w;
  dorm__jw_init(&w, 0);
  dorm_status st = DORM_OK;
  if (!u || !uidx || !slots) {
    st = dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
    goto out;
  }
  size_t nu = 0;
  for (size_t i = 0; i < n; i++) {
    size_t before = nu;
    uidx[i] = bg_intern(u, &nu, slots, cap, &entries[i], key_hash(entries[i].table, entries[i].key));
    if (nu == before) continue;
    char where[48];
    snprintf(where, sizeof where, "entries[%zu].key", i);
    st = encode_item(c, op, &w, &tmp, entries[i].key, where, &u[uidx[i]].json, &u[uidx[i]].json_len);
    if (st != DORM_OK) goto out;
  }
  dorm__jw_free(&w);

  st = bg_run(c, u, nu, opts, a, &scratch);
  if (st == DORM_ERR_TABLE_NOT_FOUND)
    st = dorm__ops_table_failed(c, st, op, one_table(&entries[0].table, n, sizeof entries[0]));
  /* Results are filled even after a failure: what was found stays found. */
  size_t nfound = 0;
  for (size_t i = 0; i < n; i++) {
    if (!u[uidx[i]].found) continue;
    items[i] = u[uidx[i]].item;
    nfound++;
  }
  if (found) *found = nfound;
  if (st == DORM_OK) dorm__client_clear_error(c);
out:
  dorm__jw_free(&w);
  dorm_arena_free(&tmp);
  dorm_arena_free(&scratch);
  free(u);
  free(uidx);
  free(slots);
  return st;
}

/* ---- BatchWriteItem ---- */

typedef struct bw_entry {
  const char *table;
  const dorm_av *av;   /* the item (put) or key (delete) */
  bool is_put;
  const char *json;
  size_t json_len;
  bool unprocessed;    /* per request */
} bw_entry;

/* Writes the BatchWriteItem body for e[chunk[0..m)] into w. */
static void bw_build(dorm_jw *w, const bw_entry *e, const size_t *chunk, size_t m) {
  const char *names[BATCH_WRITE_CHUNK], *tables[BATCH_WRITE_CHUNK];
  for (size_t i = 0; i < m; i++) names[i] = e[chunk[i]].table;
  size_t nt = chunk_tables(names, m, tables);
  dorm__jw_begin_object(w);
  dorm__jw_key(w, "RequestItems");
  dorm__jw_begin_object(w);
  for (size_t t = 0; t < nt; t++) {
    dorm__jw_key(w, tables[t]);
    dorm__jw_begin_array(w);
    for (size_t i = 0; i < m; i++) {
      if (names[i] != tables[t] && strcmp(names[i], tables[t]) != 0) continue;
      const bw_entry *x = &e[chunk[i]];
      dorm__jw_begin_object(w);
      dorm__jw_key(w, x->is_put ? "PutRequest" : "DeleteRequest");
      dorm__jw_begin_object(w);
      dorm__jw_key(w, x->is_put ? "Item" : "Key");
      if (x->json) dorm__jw_raw_value(w, x->json, x->json_len);
      else dorm__jw_item_checked(w, x->av, x->is_put ? "put_item" : "delete_key"); /* checked before the first request */
      dorm__jw_end_object(w);
      dorm__jw_end_object(w);
    }
    dorm__jw_end_array(w);
  }
  dorm__jw_end_object(w);
  dorm__jw_end_object(w);
}

/* Reads a BatchWriteItem response to e[chunk[0..m)] and marks what came
 * back unprocessed. Failures are reported through the client. */
static dorm_status bw_apply(dorm_client *c, bw_entry *e, const size_t *chunk, size_t m, const char *resp,
                            size_t len, dorm_arena *scratch) {
  static const char op[] = "BatchWriteItem";
  for (size_t i = 0; i < m; i++) e[chunk[i]].unprocessed = false;
  cJSON *root;
  dorm_status st = dorm__ops_parse_fast(c, op, resp, len, &root);
  if (st != DORM_OK) return st;

  char err[256];
  /* Entries sent as text only (dorm__batch_write_text) are parsed here, the
   * first time an unprocessed request is matched against them: only a
   * throttled batch pays for it. */
  dorm_av parsed[BATCH_WRITE_CHUNK];
  bool have[BATCH_WRITE_CHUNK] = {false};
  const cJSON *unproc = cJSON_GetObjectItemCaseSensitive(root, "UnprocessedItems"), *tab;
  if (unproc && !cJSON_IsObject(unproc)) {
    st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: UnprocessedItems is not an object");
    goto done;
  }
  cJSON_ArrayForEach(tab, unproc) {
    if (!cJSON_IsArray(tab)) {
      st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: UnprocessedItems.%s is not an array",
                            tab->string ? tab->string : "?");
      goto done;
    }
    const cJSON *req;
    cJSON_ArrayForEach(req, tab) {
      const cJSON *put = cJSON_GetObjectItemCaseSensitive(req, "PutRequest");
      const cJSON *del = cJSON_GetObjectItemCaseSensitive(req, "DeleteRequest");
      const cJSON *body = put ? cJSON_GetObjectItemCaseSensitive(put, "Item")
                              : cJSON_GetObjectItemCaseSensitive(del, "Key");
      dorm_av av;
      st = body ? dorm__json_to_item(body, scratch, &av, "UnprocessedItems[]", err, sizeof err)
                : DORM_ERR_BAD_RESPONSE;
      if (st != DORM_OK) {
        st = dorm__client_fail(c, st, op, "response: %s",
                              body ? err : "an unprocessed request is neither a PutRequest nor a DeleteRequest");
        goto done;
      }
      size_t i = 0;
      for (; i < m; i++) {
        bw_entry *x = &e[chunk[i]];
        if (x->unprocessed || x->is_put != (put != NULL) || strcmp(x->table, tab->string) != 0) continue;
        const dorm_av *sent = x->av;
        if (!sent && i < BATCH_WRITE_CHUNK) {
          if (!have[i]) {
            char why[256];
            st = dorm_item_from_json(x->json, x->json_len, scratch, &parsed[i], why, sizeof why);
            if (st != DORM_OK) {
              st = dorm__client_fail(c, st, op, "an item sent cannot be read back: %s", why);
              goto done;
            }
            have[i] = true;
          }
          sent = &parsed[i];
        }
        if (sent && dorm_av_equal(sent, &av)) {
          x->unprocessed = true;
          break;
        }
      }
      if (i == m) {
        st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op,
                              "response: an unprocessed request for table %s was not sent", tab->string);
        goto done;
      }
    }
  }
done:
  dorm__json_free(root);
  return st;
}

/* Sends one BatchWriteItem for e[chunk[0..m)] and marks what came back unprocessed. */
static dorm_status bw_request(dorm_client *c, bw_entry *e, const size_t *chunk, size_t m,
                              dorm_arena *scratch) {
  dorm_jw *w = dorm__client_writer(c);
  bw_build(w, e, chunk, m);
  const char *resp;
  size_t len;
  dorm_status st = dorm__client_send(c, "BatchWriteItem", &resp, &len);
  if (st != DORM_OK) return st;
  return bw_apply(c, e, chunk, m, resp, len, scratch);
}

/* One request at a time (dorm_batch_write's path without requests in
 * flight), each entry's text kept from the check. */
static dorm_status bw_run(dorm_client *c, bw_entry *e, size_t n, const dorm_batch_write_options *opts,
                          size_t *written) {
  static const char op[] = "BatchWriteItem";
  size_t *pending = malloc(n * sizeof *pending);
  if (!pending) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  for (size_t i = 0; i < n; i++) pending[i] = i;
  size_t npend = n;
  uint32_t max_rounds = opts && opts->max_rounds ? opts->max_rounds : BATCH_DEFAULT_ROUNDS, stalls = 0;
  dorm_arena scratch = DORM_ARENA_INIT;
  dorm_status st = DORM_OK;
  while (npend > 0) {
    size_t next = 0;
    bool progress = false;
    for (size_t off = 0; off < npend; off += BATCH_WRITE_CHUNK) {
      size_t m = npend - off < BATCH_WRITE_CHUNK ? npend - off : BATCH_WRITE_CHUNK;
      dorm_arena_reset(&scratch);
      st = bw_request(c, e, pending + off, m, &scratch);
      if (st != DORM_OK) goto out;
      for (size_t i = 0; i < m; i++) {
        size_t k = pending[off + i];
        if (e[k].unprocessed) {
          pending[next++] = k;
        } else {
          progress = true;
          ++*written;
        }
      }
    }
    npend = next;
    if (npend == 0) break;
    st = between_rounds(c, op, progress, &stalls, max_rounds, npend, n, "writes", "UnprocessedItems");
    if (st != DORM_OK) break;
  }
out:
  dorm_arena_free(&scratch);
  free(pending);
  return st;
}


/* ---- many requests in flight (dorm/pool.h) ----
 *
 * The entries to send are cut into chunks; max_in_flight chunks go out at
 * once and each completion sends the next, so the pipe stays full. What a
 * response returns unprocessed goes out again as a chunk of its own after
 * the throttling backoff (a timer in the pool's loop, not a sleep), counted
 * per chunk: max_rounds answers in a row that resolved nothing fail the
 * call. After the first failure no new chunk is sent; those in flight
 * complete and are counted. */

typedef struct batch_run {
  dorm_client *c;
  const char *op;
  bool is_get, consistent;
  const dorm_batch_write_entry *in; /* writes: the caller's entries (checked), read as their chunks go out */
  const dorm__bw_text *text;        /* writes: or the caller's puts as text (dorm__batch_write_text) */
  bg_key *u;            /* gets */
  dorm_arena *a;        /* gets: the items found */
  const size_t *order;  /* gets: indices into u to send, in order */
  size_t n, cursor, chunk, total;
  uint32_t max_rounds;
  size_t *done_count;   /* writes: *written */
  dorm_pool *pool;
  dorm_jw w;
  dorm_arena scratch;
  dorm_status st;       /* the first failure */
  char errmsg[1024];
} batch_run;

typedef struct batch_req {
  batch_run *run;
  uint32_t stalls; /* answers in a row for these entries that resolved nothing */
  size_t m;
  bw_entry *ent;   /* writes: the m entries sent (in the same allocation) */
  size_t idx[];    /* gets: the m indices into run->u sent */
} batch_req;

/* 0, 1, ..., BATCH_WRITE_CHUNK - 1: a write request's entries are its own
 * ent[0..m), read through bw_build's and bw_apply's index lists. */
static const size_t bw_ident[BATCH_WRITE_CHUNK] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
                                                   13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};

/* The bw_entry of the caller's entry x (checked up front). */
static bw_entry bw_entry_of(const dorm_batch_write_entry *x) {
  bw_entry e = {x->table, x->put_item ? x->put_item : x->delete_key, x->put_item != NULL, NULL, 0, false};
  return e;
}

/* The bw_entry of a put given as text. */
static bw_entry bw_entry_of_text(const dorm__bw_text *x) {
  bw_entry e = {x->table, NULL, true, x->json, x->len, false};
  return e;
}

static void batch_done(void *user, const dorm_pool_result *r);

/* Records the first failure (message without the "<op>: " prefix). */
static void batch_fail(batch_run *r, dorm_status st, const char *msg) {
  if (r->st != DORM_OK) return;
  r->st = st;
  size_t ol = strlen(r->op);
  if (strncmp(msg, r->op, ol) == 0 && msg[ol] == ':' && msg[ol + 1] == ' ') msg += ol + 2;
  snprintf(r->errmsg, sizeof r->errmsg, "%s", msg);
}

/* Queues one request, sent after delay_ms: for a get, the keys u[idx[0..m)];
 * for a write, the entries ent[0..m) (copied; m <= BATCH_WRITE_CHUNK). */
static void batch_submit(batch_run *r, const size_t *idx, const bw_entry *ent, size_t m, uint32_t stalls,
                         long delay_ms) {
  batch_req *q = malloc(sizeof *q + (r->is_get ? m * sizeof q->idx[0] : m * sizeof *ent));
  if (!q) {
    batch_fail(r, DORM_ERR_NO_MEMORY, "out of memory");
    return;
  }
  q->run = r;
  q->stalls = stalls;
  q->m = m;
  q->ent = NULL;
  if (r->is_get) {
    memcpy(q->idx, idx, m * sizeof *idx);
  } else {
    q->ent = (bw_entry *)(void *)q->idx; /* the flexible tail, aligned for size_t and so for bw_entry's pointers */
    memcpy(q->ent, ent, m * sizeof *ent);
  }
  dorm__jw_reset(&r->w);
  if (r->is_get) bg_build(&r->w, r->u, q->idx, m, r->consistent);
  else bw_build(&r->w, q->ent, bw_ident, m);
  const char *body;
  size_t len;
  dorm_status st = dorm__jw_finish(&r->w, &body, &len);
  if (st != DORM_OK) {
    free(q);
    batch_fail(r, st, r->w.err);
    return;
  }
  if (delay_ms > 0 && dorm__client_sleep_hooked(r->c)) {
    /* Tests replace the client's sleep to see the delays without waiting. */
    dorm__client_sleep_ms(r->c, delay_ms);
    delay_ms = 0;
  }
  dorm_pool_request rq = {r->op, body, len, delay_ms, batch_done, q};
  /* The request takes the writer's buffer (no copy of the ~40 KB body);
   * the writer gets a finished request's to write the next one into. */
  st = dorm__pool_submit_buf(r->pool, &rq, &r->w.text);
  if (st != DORM_OK) {
    free(q);
    batch_fail(r, st, "cannot queue a request");
  }
}

/* Sends the next chunk of the input, if any is left and nothing failed. */
static void batch_next(batch_run *r) {
  if (r->st != DORM_OK || r->cursor >= r->n) return;
  size_t m = r->n - r->cursor < r->chunk ? r->n - r->cursor : r->chunk;
  if (r->is_get) {
    batch_submit(r, r->order + r->cursor, NULL, m, 0, 0);
  } else {
    bw_entry ent[BATCH_WRITE_CHUNK];
    for (size_t i = 0; i < m; i++)
      ent[i] = r->text ? bw_entry_of_text(&r->text[r->cursor + i]) : bw_entry_of(&r->in[r->cursor + i]);
    batch_submit(r, NULL, ent, m, 0, 0);
  }
  r->cursor += m;
}

static void batch_done(void *user, const dorm_pool_result *res) {
  batch_req *q = user;
  batch_run *r = q->run;
  dorm_status st = res->status;
  if (st != DORM_OK) {
    batch_fail(r, st, res->errmsg);
    free(q);
    return;
  }
  dorm_arena_reset(&r->scratch);
  st = r->is_get ? bg_apply(r->c, r->u, q->idx, q->m, res->body, res->body_len, r->a, &r->scratch)
                 : bw_apply(r->c, q->ent, bw_ident, q->m, res->body, res->body_len, &r->scratch);
  if (st != DORM_OK) {
    batch_fail(r, st, dorm_client_errmsg(r->c));
    free(q);
    return;
  }
  size_t left = 0;
  for (size_t i = 0; i < q->m; i++) {
    if (!r->is_get) {
      if (q->ent[i].unprocessed) q->ent[left++] = q->ent[i]; /* left <= i */
      else ++*r->done_count;
      continue;
    }
    size_t k = q->idx[i];
    if (r->u[k].unprocessed) q->idx[left++] = k;
    else r->u[k].found = r->u[k].got;
  }
  if (left > 0 && r->st == DORM_OK) {
    uint32_t stalls = left == q->m ? q->stalls + 1 : 0;
    if (stalls >= r->max_rounds) {
      char msg[256];
      snprintf(msg, sizeof msg,
               "%zu of %zu %s still unprocessed after %u rounds without progress (DynamoDB kept returning "
               "them in %s)",
               left, r->total, r->is_get ? "keys" : "writes", (unsigned)r->max_rounds,
               r->is_get ? "UnprocessedKeys" : "UnprocessedItems");
      batch_fail(r, DORM_ERR_THROTTLED, msg);
    } else {
      batch_submit(r, q->idx, q->ent, left, stalls, dorm__client_backoff_ms(r->c, stalls ? (int)stalls : 1));
    }
  }
  free(q);
  batch_next(r);
}

/* Runs the whole input through a pool of in_flight requests. */
static dorm_status batch_run_pooled(batch_run *r, unsigned in_flight) {
  bool owned;
  dorm_status st = dorm__client_pool(r->c, in_flight, &r->pool, &owned);
  if (st != DORM_OK) return dorm__client_fail(r->c, st, r->op, "cannot create a request pool");
  dorm__jw_init(&r->w, 0);
  dorm_arena_init(&r->scratch, 0);
  for (unsigned i = 0; i < in_flight && r->cursor < r->n; i++) batch_next(r);
  st = dorm_pool_run(r->pool);
  if (st != DORM_OK) batch_fail(r, st, "the request pool failed");
  if (owned) dorm_pool_free(r->pool);
  r->pool = NULL;
  dorm__jw_free(&r->w);
  dorm_arena_free(&r->scratch);
  if (r->st != DORM_OK) return dorm__client_fail(r->c, r->st, r->op, "%s", r->errmsg);
  return DORM_OK;
}

/* The bulk path: the caller's entries, all checked, sent in_flight requests
 * at a time. Nothing per entry is allocated: each request copies its chunk's
 * entries (a per-entry array of 100,000 touched ~1,200 fresh pages, ~12 us
 * each in this VM: bench/notes/bulk.md). */
static dorm_status bw_run_pooled(dorm_client *c, const dorm_batch_write_entry *in, const dorm__bw_text *text,
                                 size_t n, const dorm_batch_write_options *opts, size_t *written) {
  uint32_t max_rounds = opts && opts->max_rounds ? opts->max_rounds : BATCH_DEFAULT_ROUNDS;
  batch_run r = {.c = c, .op = "BatchWriteItem", .in = in, .text = text, .n = n, .chunk = BATCH_WRITE_CHUNK,
                 .total = n, .max_rounds = max_rounds, .done_count = written};
  return batch_run_pooled(&r, in_flight_of(opts ? opts->max_in_flight : 0));
}

static dorm_status bg_run_pooled(dorm_client *c, bg_key *u, size_t nu, const size_t *order, bool consistent,
                                 dorm_arena *a, uint32_t max_rounds, unsigned in_flight) {
  batch_run r = {.c = c, .op = "BatchGetItem", .is_get = true, .consistent = consistent, .u = u, .a = a,
                 .order = order, .n = nu, .chunk = BATCH_GET_CHUNK, .total = nu, .max_rounds = max_rounds};
  return batch_run_pooled(&r, in_flight);
}

/* The bulk path's up-front check of one entry, with no message: true when
 * the entry is a map within DynamoDB's item size that the writer accepts.
 * On false the caller runs the full check, which names the entry and says
 * why (the same checks, so the same verdict). The writer's check also sums
 * a bound of the item's size on its walk; only an item whose bound passes
 * the limit is walked again for its exact size (that second walk was half
 * the check's cost: bench/notes/bulk.md). */
static bool bw_check_quick(dorm_jw *w, const dorm_av *av) {
  if (!av || av->type != DORM_AV_M) return false;
  dorm__jw_reset(w);
  if (dorm__jw_check_item(w, av, NULL) != DORM_OK) return false;
  if (w->size_bound <= DORM_ITEM_MAX_BYTES) return true;
  size_t size = 0;
  return dorm_item_size(av, &size) == DORM_OK && size <= DORM_ITEM_MAX_BYTES;
}

dorm_status dorm_batch_write(dorm_client *c, const dorm_batch_write_entry *entries, size_t n,
                             const dorm_batch_write_options *opts, size_t *written) {
  static const char op[] = "BatchWriteItem";
  dorm__client_clear_error(c);
  size_t scratch_written = 0;
  if (!written) written = &scratch_written;
  *written = 0;
  OPS_REQUIRE(c, op, n == 0 || entries, "entries are required");
  if (n == 0) return DORM_OK;
  OPS_REQUIRE(c, op, n <= SIZE_MAX / 4 / sizeof(bw_entry), "too many entries");

  /* With requests in flight (a bulk write) each entry's text is written
   * into its request as the chunk goes out rather than kept from the check:
   * keeping it doubles the memory touched (a fresh page per few items, which
   * cost more than writing the text again; bench/notes/bulk.md). The
   * check then only walks the entry (dorm__jw_check_item), so each item's
   * text is written once, and nothing per entry is kept at all. */
  bool pooled = in_flight_of(opts ? opts->max_in_flight : 0) > 1 && n > BATCH_WRITE_CHUNK;
  bw_entry *e = pooled ? NULL : malloc(n * sizeof *e);
  if (!pooled && !e) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  dorm_arena tmp = DORM_ARENA_INIT;
  dorm_jw w;
  dorm__jw_init(&w, 0);
  dorm_status st = DORM_OK;
  for (size_t i = 0; i < n && st == DORM_OK; i++) {
    const dorm_batch_write_entry *x = &entries[i];
    if (!x->table || !*x->table) {
      st = dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "entries[%zu]: no table name", i);
      break;
    }
    if ((x->put_item != NULL) == (x->delete_key != NULL)) {
      st = dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op,
                             "entries[%zu]: exactly one of put_item and delete_key must be set", i);
      break;
    }
    bw_entry one = bw_entry_of(x), *ei = e ? &e[i] : &one;
    *ei = one;
    if (pooled && bw_check_quick(&w, ei->av)) continue;
    /* Kept text, or something to report: the full check names the entry. */
    char where[48];
    snprintf(where, sizeof where, "entries[%zu].%s", i, ei->is_put ? "put_item" : "delete_key");
    st = dorm__ops_check_item(c, op, ei->av, where);
    if (st == DORM_OK) st = encode_item(c, op, &w, pooled ? NULL : &tmp, ei->av, where, &ei->json, &ei->json_len);
  }
  dorm__jw_free(&w);
  if (st == DORM_OK) {
    st = pooled ? bw_run_pooled(c, entries, NULL, n, opts, written) : bw_run(c, e, n, opts, written);
    if (st == DORM_OK) dorm__client_clear_error(c);
    if (st == DORM_ERR_TABLE_NOT_FOUND)
      st = dorm__ops_table_failed(c, st, op, one_table(&entries[0].table, n, sizeof entries[0]));
  }
  dorm_arena_free(&tmp);
  free(e);
  return st;
}

dorm_status dorm__batch_write_text(dorm_client *c, const dorm__bw_text *puts, size_t n,
                                   const dorm_batch_write_options *opts, size_t *written) {
  static const char op[] = "BatchWriteItem";
  dorm__client_clear_error(c);
  size_t scratch_written = 0;
  if (!written) written = &scratch_written;
  *written = 0;
  OPS_REQUIRE(c, op, n == 0 || puts, "entries are required");
  if (n == 0) return DORM_OK;
  OPS_REQUIRE(c, op, n <= SIZE_MAX / 4 / sizeof(bw_entry), "too many entries");
  for (size_t i = 0; i < n; i++)
    if (!puts[i].table || !*puts[i].table || !puts[i].json || !puts[i].len)
      return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "entries[%zu]: no table name or no item", i);
  dorm_status st;
  if (in_flight_of(opts ? opts->max_in_flight : 0) > 1 && n > BATCH_WRITE_CHUNK) {
    st = bw_run_pooled(c, NULL, puts, n, opts, written);
  } else {
    bw_entry *e = malloc(n * sizeof *e);
    if (!e) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
    for (size_t i = 0; i < n; i++) e[i] = bw_entry_of_text(&puts[i]);
    st = bw_run(c, e, n, opts, written);
    free(e);
  }
  if (st == DORM_OK) dorm__client_clear_error(c);
  if (st == DORM_ERR_TABLE_NOT_FOUND) st = dorm__ops_table_failed(c, st, op, one_table(&puts[0].table, n, sizeof puts[0]));
  return st;
}
