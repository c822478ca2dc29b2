/* Typed batches over dorm_batch_get / dorm_batch_write (ops_batch.c does
 * the chunking, de-duplication and retries of unprocessed entries). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* The n table keys of the structs at objs (stride m->size) as dorm_av maps. */
static dorm_status keys_of(dorm_client *c, const char *op, const dorm_model_desc *m, const void *objs, size_t n,
                           dorm_arena *a, dorm_av **keys) {
  dorm_av *k = n ? dorm_arena_alloc(a, n * sizeof *k) : NULL;
  if (n && !k) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  for (size_t i = 0; i < n; i++) {
    char err[512];
    dorm_status st = dorm_model_key_av(m, (const char *)objs + i * m->size, a, &k[i], err, sizeof err);
    if (st != DORM_OK) return dorm__client_fail(c, st, op, "key %zu: %s", i, err);
  }
  *keys = k;
  return DORM_OK;
}

static dorm_status batch_args(dorm_client *c, const char *op, const dorm_model_desc *m, const void *objs, size_t n) {
  if (!m) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "no model descriptor given");
  if (n && !objs) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s: %zu objects but none given", m->name, n);
  return DORM_OK;
}

dorm_status dorm_model_batch_get(dorm_client *c, const dorm_model_desc *m, const void *key_objs, size_t n,
                                 bool consistent_read, dorm_arena *a, void *out, bool *found) {
  static const char op[] = "BatchGetItem";
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  dorm__client_clear_error(c);
  dorm_status st = batch_args(c, op, m, key_objs, n);
  if (st != DORM_OK) return st;
  if (!a) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s: an arena is required for the items read", m->name);
  if (n && !out) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s: no output array given", m->name);
  if (n == 0) return DORM_OK;
  dorm_crypt *k;
  if ((st = dorm__model_crypt_for(c, op, m, &k)) != DORM_OK) return st;
  dorm_av *keys;
  if ((st = keys_of(c, op, m, key_objs, n, a, &keys)) != DORM_OK) return st;
  dorm_batch_get_entry *entries = dorm_arena_alloc(a, n * sizeof *entries);
  dorm_av *items = dorm_arena_alloc(a, n * sizeof *items);
  if (!entries || !items) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  for (size_t i = 0; i < n; i++) {
    entries[i].table = m->table;
    entries[i].key = &keys[i];
  }
  dorm_batch_get_options bo;
  memset(&bo, 0, sizeof bo);
  bo.consistent_read = consistent_read;
  if ((st = dorm_batch_get(c, entries, n, &bo, a, items, NULL)) != DORM_OK) return st;
  memset(out, 0, n * m->size);
  for (size_t i = 0; i < n; i++) {
    /* Another entity type under the same key is "not found" here. */
    bool hit = items[i].type == DORM_AV_M && dorm_model_is(m, &items[i]);
    if (found) found[i] = hit;
    if (!hit) continue;
    char err[512];
    /* The items' strings already live in the caller's arena. */
    st = dorm__model_read_item_k(m, &items[i], MODEL_READ_BORROW, k, a, (char *)out + i * m->size, err, sizeof err);
    if (st != DORM_OK) {
      char key[256];
      dorm__model_key_text(m, &items[i], key, sizeof key);
      return dorm__client_fail(c, st, op, "item %s: %s", key, err);
    }
  }
  return DORM_OK;
}

static dorm_status batch_write(dorm_client *c, const char *op, const dorm_model_desc *m, const dorm_av *avs, size_t n,
                               bool put, dorm_arena *a) {
  dorm_batch_write_entry *entries = dorm_arena_calloc(a, n, sizeof *entries);
  if (!entries) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  for (size_t i = 0; i < n; i++) {
    entries[i].table = m->table;
    if (put) entries[i].put_item = &avs[i];
    else entries[i].delete_key = &avs[i];
  }
  return dorm_batch_write(c, entries, n, NULL, NULL);
}

/* An item's table key as written (dorm__model_write_key: the same values
 * give the same text) and where it was in the caller's array. */
typedef struct key_text {
  const char *text;
  size_t index;
} key_text;

/* Nothing was sent: the first n objects get their lifecycle fields back. */
static void restore_upto(const dorm_model_desc *m, void *objs, const model_lifecycle_save *saved, size_t n) {
  for (size_t i = 0; i < n; i++) dorm__model_lifecycle_restore(m, (char *)objs + i * m->size, &saved[i]);
}

static int cmp_key_text(const void *a, const void *b) {
  const key_text *x = a, *y = b;
  int r = strcmp(x->text, y->text);
  return r ? r : (x->index > y->index) - (x->index < y->index);
}

/* Each item is written once, from the struct straight to its JSON text (as
 * dorm_model_put writes its body), kept in the arena and sent verbatim:
 * going through a dorm_av (text, parsed, written again) was ~5 % of the
 * streamer's CPU, whose writer stores every progress message this way. */
static dorm_status batch_put(dorm_client *c, const dorm_model_desc *m, void *objs, size_t n, dorm_arena *a) {
  static const char op[] = "BatchWriteItem";
  dorm_status st;
  dorm_crypt *k;
  if ((st = dorm__model_crypt_for(c, op, m, &k)) != DORM_OK) return st;
  dorm__bw_text *puts = dorm_arena_alloc(a, n * sizeof *puts);
  key_text *keys = n > 1 ? dorm_arena_alloc(a, n * sizeof *keys) : NULL;
  model_lifecycle_save *saved = dorm_arena_alloc(a, n * sizeof *saved);
  if (!puts || !saved || (n > 1 && !keys)) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  int64_t now = dorm_time_now();
  dorm_jw w;
  dorm__jw_init(&w, 0);
  for (size_t i = 0; i < n; i++) {
    void *obj = (char *)objs + i * m->size;
    dorm__model_lifecycle_put(m, obj, now, &saved[i]);
    char err[512];
    const char *json = NULL;
    size_t len = 0;
    dorm__jw_reset(&w);
    st = dorm__model_write_item_crypt(&w, m, obj, k, false, NULL, err, sizeof err);
    if (st == DORM_OK && (st = dorm__jw_finish(&w, &json, &len)) != DORM_OK) snprintf(err, sizeof err, "%s", w.err);
    char *copy = st == DORM_OK ? dorm_arena_memdup(a, json, len) : NULL;
    if (st == DORM_OK && !copy) {
      st = DORM_ERR_NO_MEMORY;
      snprintf(err, sizeof err, "out of memory");
    }
    if (st != DORM_OK) {
      dorm__jw_free(&w);
      restore_upto(m, objs, saved, i + 1);
      return dorm__client_fail(c, st, op, "item %zu: %s", i, err);
    }
    puts[i] = (dorm__bw_text){m->table, copy, len};
    /* its key's text, for the check below */
    dorm__jw_reset(&w);
    if (n > 1 && ((st = dorm__model_write_key(&w, m, obj, err, sizeof err)) != DORM_OK ||
                  (st = dorm__jw_finish(&w, &json, &len)) != DORM_OK ||
                  !(keys[i].text = dorm_arena_memdup(a, json, len + 1)))) {
      dorm__jw_free(&w);
      restore_upto(m, objs, saved, i + 1);
      return dorm__client_fail(c, st != DORM_OK ? st : DORM_ERR_NO_MEMORY, op, "item %zu: %s", i,
                               st != DORM_OK ? err : "out of memory");
    }
    if (n > 1) keys[i].index = i;
  }
  dorm__jw_free(&w);
  /* Two items with one key: in one request DynamoDB refuses the whole
   * request, in two (sent in parallel) which one is stored is not defined.
   * Neither is what a caller means: refused before anything is sent. */
  if (n > 1) {
    qsort(keys, n, sizeof *keys, cmp_key_text);
    for (size_t i = 1; i < n; i++)
      if (strcmp(keys[i - 1].text, keys[i].text) == 0) {
        restore_upto(m, objs, saved, n); /* (equal keys sort by index) */
        return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op,
                                 "items %zu and %zu have the same key %.200s: a batch writes each item once",
                                 keys[i - 1].index, keys[i].index, keys[i].text);
      }
  }
  return dorm__batch_write_text(c, puts, n, NULL, NULL);
}

dorm_status dorm_model_batch_put(dorm_client *c, const dorm_model_desc *m, void *objs, size_t n, dorm_arena *a) {
  static const char op[] = "BatchWriteItem";
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  dorm__client_clear_error(c);
  dorm_status st = batch_args(c, op, m, objs, n);
  if (st != DORM_OK || n == 0) return st;
  /* Without the caller's arena, the items live in a scratch one until sent. */
  dorm_arena scratch = DORM_ARENA_INIT;
  st = batch_put(c, m, objs, n, a ? a : &scratch);
  dorm_arena_free(&scratch);
  return st;
}

static dorm_status batch_delete(dorm_client *c, const dorm_model_desc *m, const void *key_objs, size_t n,
                                dorm_arena *a) {
  static const char op[] = "BatchWriteItem";
  dorm_av *keys;
  dorm_status st = keys_of(c, op, m, key_objs, n, a, &keys);
  if (st != DORM_OK) return st;
  return batch_write(c, op, m, keys, n, false, a);
}

dorm_status dorm_model_batch_delete(dorm_client *c, const dorm_model_desc *m, const void *key_objs, size_t n,
                                    dorm_arena *a) {
  static const char op[] = "BatchWriteItem";
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  dorm__client_clear_error(c);
  dorm_status st = batch_args(c, op, m, key_objs, n);
  if (st != DORM_OK || n == 0) return st;
  dorm_arena scratch = DORM_ARENA_INIT; /* as batch_put */
  st = batch_delete(c, m, key_objs, n, a ? a : &scratch);
  dorm_arena_free(&scratch);
  return st;
}
