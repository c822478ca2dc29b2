/* store: the streamer's tables (schemas/streamer.dorm) as the router and the
 * processor use them, only through the generated code (streamer_models.h).
 *
 * Every server message of a request is persisted under (request, seq) in
 * the messages table, so a client that resumes gets exactly what it missed.
 * The seq is taken by the write itself: a conditional put (create: the item
 * must not exist) of the next seq the writer knows of. Two writers (the
 * processor's progress and the router's answer to `status`) that pick the
 * same seq cannot both win; the loser reads the newest seq and tries after
 * it. So a message costs one write, and the messages table, not the request
 * item, is where the last seq is known for sure (the item's seq is a hint
 * that its writers keep close). */
#include "streamer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dorm__st_request_pk(const char *sub, const char *client_id, char out[300]) {
  snprintf(out, 300, "%s#%s", sub, client_id);
}

int64_t dorm__st_last_message(dorm_client *c, const char *sub, const char *client_id, dorm_arena *a,
                               dorm_streamer_Message *newest) {
  dorm_query_opts q = {.limit = 1, .descending = true, .consistent_read = true};
  dorm_streamer_Message_page page;
  if (dorm_streamer_Message_query(c, sub, client_id, NULL, &q, a, &page) != DORM_OK) return -1;
  if (page.count == 0) return 0;
  if (newest) *newest = page.items[0];
  return page.items[0].seq;
}

int64_t dorm__st_append_message(dorm_client *c, const char *sub, const char *client_id, int64_t after,
                                dorm__st_make_fn make, void *user, char **text_out) {
  *text_out = NULL;
  if (after < 0) after = 0;
  /* A collision costs a read and a write. Writers that collide are few (the
   * job's processor, and the router answering `status` calls, which may come
   * in a burst: each of k concurrent ones loses at most k - 1 times); past
   * this many in a row something writes faster than we can follow. */
  for (int attempt = 0; attempt < 64; attempt++) {
    dorm_arena a = DORM_ARENA_INIT;
    int64_t seq = after + 1;
    char *text = make(seq, user);
    if (!text) {
      dorm_arena_free(&a);
      return 0;
    }
    dorm_streamer_Message m = {.sub = sub, .clientId = client_id, .seq = seq, .body = text};
    dorm_status st = dorm_streamer_Message_create(c, &m, NULL, &a);
    if (st == DORM_OK) {
      dorm_arena_free(&a);
      *text_out = text;
      return seq;
    }
    free(text);
    if (st != DORM_ERR_CONDITION_FAILED) {
      dorm_arena_free(&a);
      return 0;
    }
    int64_t last = dorm__st_last_message(c, sub, client_id, &a, NULL);
    dorm_arena_free(&a);
    if (last < 0) return 0;
    after = last > seq ? last : seq;
  }
  dorm__st_log("error", "seq_contention", client_id, NULL, NULL, "64 writers took the next seq first: giving up");
  return 0;
}

/* ---- a result: complete, or chunks then complete (docs/streamer.md, "Large results") ---- */

typedef struct result_made {
  const char *rid;
  const char *extra; /* a chunk's members, or the complete message's */
} result_made;

static char *make_chunk(int64_t seq, void *user) {
  result_made *m = user;
  return dorm__st_message("result_chunk", m->rid, seq, m->extra);
}

static char *make_complete(int64_t seq, void *user) {
  result_made *m = user;
  return dorm__st_message("complete", m->rid, seq, m->extra);
}

static size_t chunk_len(const char *text, size_t len, size_t off) {
  size_t n = len - off < DORM__ST_CHUNK_DATA ? len - off : DORM__ST_CHUNK_DATA;
  while (off + n < len && n > 1 && ((unsigned char)text[off + n] & 0xC0) == 0x80) n--;
  return n;
}

int64_t dorm__st_append_result(dorm_client *c, const char *sub, const char *client_id, int64_t after,
                               const char *result, dorm__st_sent_fn sent, void *user) {
  size_t len = strlen(result);
  /* room for the envelope: a complete message stays under one frame */
  if (len + 256 <= DORM__ST_CHUNK_DATA) {
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddRawToObject(o, "result", result)) {
      cJSON_Delete(o);
      return 0;
    }
    char *extra = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!extra) return 0;
    result_made m = {client_id, extra};
    char *text = NULL;
    int64_t seq = dorm__st_append_message(c, sub, client_id, after, make_complete, &m, &text);
    cJSON_free(extra);
    if (seq) sent(user, seq, text);
    free(text);
    return seq;
  }
  /* Where chunks end: about DORM__ST_CHUNK_DATA bytes each, never inside a
   * UTF-8 sequence (data is a JSON string). */
  size_t count = 0;
  for (size_t off = 0; off < len; count++) off += chunk_len(result, len, off);
  for (size_t i = 0, off = 0; i < count; i++) {
    size_t n = chunk_len(result, len, off);
    char *part = malloc(n + 1);
    if (!part) return 0;
    memcpy(part, result + off, n);
    part[n] = '\0';
    off += n;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", (double)i);
    cJSON_AddNumberToObject(o, "count", (double)count);
    cJSON_AddStringToObject(o, "data", part);
    free(part);
    char *extra = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!extra) return 0;
    result_made m = {client_id, extra};
    char *text = NULL;
    int64_t seq = dorm__st_append_message(c, sub, client_id, after, make_chunk, &m, &text);
    cJSON_free(extra);
    if (!seq) return 0;
    sent(user, seq, text);
    free(text);
    after = seq;
  }
  result_made m = {client_id, "{\"chunked\":true}"};
  char *text = NULL;
  int64_t seq = dorm__st_append_message(c, sub, client_id, after, make_complete, &m, &text);
  if (seq) sent(user, seq, text);
  free(text);
  return seq;
}
