/* BatchGetItem and BatchWriteItem over any number of entries: chunking,
 * de-duplication of keys, matching responses to requests, and retrying the
 * unprocessed part with backoff.
 *
 * Every entry is checked and written to JSON once, before the first request:
 * a bad entry fails the call before anything is sent, and retries resend the
 * same text without re-encoding it. */
#include "ops_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_GET_CHUNK 100
#define BATCH_WRITE_CHUNK 25
#define BATCH_DEFAULT_ROUNDS 8

/* ---- shared helpers ---- */

/* Writes item as JSON text into the arena, with `where` naming it in errors. */
static dorm_status encode_item(dorm_client *c, const char *op, dorm_jw *w, dorm_arena *tmp,
                               const dorm_av *item, const char *where, const char **json, size_t *len) {
  dorm__jw_reset(w);
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

/* Sends one BatchGetItem for the unique keys chunk[0..m) and records, per
 * key, whether it came back (got, item), was unprocessed, or is missing. */
static dorm_status bg_request(dorm_client *c, bg_key *u, const size_t *chunk, size_t m, bool consistent,
                              dorm_arena *a, dorm_arena *scratch) {
  static const char op[] = "BatchGetItem";
  const char *names[BATCH_GET_CHUNK], *tables[BATCH_GET_CHUNK];
  for (size_t i = 0; i < m; i++) {
    names[i] = u[chunk[i]].table;
    u[chunk[i]].got = u[chunk[i]].unprocessed = false;
  }
  size_t nt = chunk_tables(names, m, tables);

  dorm_jw *w = dorm__client_writer(c);
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

  const char *resp;
  size_t len;
  dorm_status st = dorm__client_send(c, op, &resp, &len);
  if (st != DORM_OK) return st;
  cJSON *root;
  st = dorm__ops_parse_fast(c, op, resp, len, &root);
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

static dorm_status bg_run(dorm_client *c, bg_key *u, size_t nu, const dorm_batch_get_options *opts,
                          dorm_arena *a, dorm_arena *scratch) {
  static const char op[] = "BatchGetItem";
  size_t *pending = malloc((nu ? nu : 1) * sizeof *pending);
  if (!pending) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  for (size_t i = 0; i < nu; i++) pending[i] = i;
  size_t npend = nu;
  uint32_t max_rounds = opts && opts->max_rounds ? opts->max_rounds : BATCH_DEFAULT_ROUNDS, stalls = 0;
  bool consistent = opts && opts->consistent_read;
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

/* Sends one BatchWriteItem for e[chunk[0..m)] and marks what came back unprocessed. */
static dorm_status bw_request(dorm_client *c, bw_entry *e, const size_t *chunk, size_t m,
                              dorm_arena *scratch) {
  static const char op[] = "BatchWriteItem";
  const char *names[BATCH_WRITE_CHUNK], *tables[BATCH_WRITE_CHUNK];
  for (size_t i = 0; i < m; i++) {
    names[i] = e[chunk[i]].table;
    e[chunk[i]].unprocessed = false;
  }
  size_t nt = chunk_tables(names, m, tables);

  dorm_jw *w = dorm__client_writer(c);
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
      dorm__jw_raw_value(w, x->json, x->json_len);
      dorm__jw_end_object(w);
      dorm__jw_end_object(w);
    }
    dorm__jw_end_array(w);
  }
  dorm__jw_end_object(w);
  dorm__jw_end_object(w);

  const char *resp;
  size_t len;
  dorm_status st = dorm__client_send(c, op, &resp, &len);
  if (st != DORM_OK) return st;
  cJSON *root;
  st = dorm__ops_parse_fast(c, op, resp, len, &root);
  if (st != DORM_OK) return st;

  char err[256];
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
        if (!x->unprocessed && x->is_put == (put != NULL) && strcmp(x->table, tab->string) == 0 &&
            dorm_av_equal(x->av, &av)) {
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

  for (size_t i = 0; i < n; i++) {
    const dorm_batch_write_entry *x = &entries[i];
    if (!x->table || !*x->table)
      return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "entries[%zu]: no table name", i);
    if ((x->put_item != NULL) == (x->delete_key != NULL))
      return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op,
                              "entries[%zu]: exactly one of put_item and delete_key must be set", i);
    char what[48];
    snprintf(what, sizeof what, "entries[%zu].%s", i, x->put_item ? "put_item" : "delete_key");
    dorm_status st = dorm__ops_check_item(c, op, x->put_item ? x->put_item : x->delete_key, what);
    if (st != DORM_OK) return st;
  }

  bw_entry *e = malloc(n * sizeof *e);
  if (!e) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  dorm_arena tmp = DORM_ARENA_INIT;
  dorm_jw w;
  dorm__jw_init(&w, 0);
  dorm_status st = DORM_OK;
  for (size_t i = 0; i < n && st == DORM_OK; i++) {
    const dorm_batch_write_entry *x = &entries[i];
    e[i].table = x->table;
    e[i].is_put = x->put_item != NULL;
    e[i].av = e[i].is_put ? x->put_item : x->delete_key;
    e[i].unprocessed = false;
    char where[48];
    snprintf(where, sizeof where, "entries[%zu].%s", i, e[i].is_put ? "put_item" : "delete_key");
    st = encode_item(c, op, &w, &tmp, e[i].av, where, &e[i].json, &e[i].json_len);
  }
  dorm__jw_free(&w);
  if (st == DORM_OK) {
    st = bw_run(c, e, n, opts, written);
    if (st == DORM_OK) dorm__client_clear_error(c);
  }
  dorm_arena_free(&tmp);
  free(e);
  return st;
}
