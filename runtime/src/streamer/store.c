/* store: the streamer's tables (schemas/streamer.dorm) as the router and the
 * processor use them, only through the generated code (streamer_models.h).
 *
 * Every server message of a request gets the next seq from one atomic
 * UpdateItem of the request item (ADD seq 1, returning the new item; the
 * processor's progress update does the same and also records the progress)
 * and is then persisted under (request, seq) in the messages table, so a
 * client that resumes gets exactly what it missed. The seq is taken by the
 * first write, so the second is a plain put: measured against DynamoDB Local,
 * taking the seq with a conditional put instead (one write fewer) made
 * every write slower (bench/README.md, "The streamer"). */
#include "streamer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dorm__st_request_pk(const char *sub, const char *client_id, char out[300]) {
  snprintf(out, 300, "%s#%s", sub, client_id);
}

int64_t dorm__st_append_message(dorm_client *c, const char *sub, const char *client_id, dorm__st_make_fn make,
                                void *user, char **text_out) {
  *text_out = NULL;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_model_update u;
  dorm_streamer_Request_update_begin(&u, &a);
  dorm_streamer_Request_add_seq(&u, 1);
  dorm_update_opts o = {.return_new = true};
  dorm_streamer_Request_key key = {sub, client_id};
  dorm_streamer_Request now;
  int64_t seq = 0;
  if (dorm_streamer_Request_update(c, &key, &u, &o, &a, &now) == DORM_OK) {
    seq = now.seq;
    char *text = make(seq, user);
    dorm_streamer_Message m = {.sub = sub, .clientId = client_id, .seq = seq, .body = text};
    if (text && dorm__st_put_message(c, &m, &a)) *text_out = text;
    else {
      free(text);
      seq = 0;
    }
  }
  dorm_arena_free(&a);
  return seq;
}

bool dorm__st_put_message(dorm_client *c, dorm_streamer_Message *m, dorm_arena *a) {
  /* Unconditional: the seq is ours alone (taken by the ADD above, or by the
   * processor's progress update). DynamoDB Local runs a conditional put far
   * slower than a plain one under concurrent writers (bench/README.md). */
  return dorm_streamer_Message_put(c, m, NULL, a) == DORM_OK;
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

int64_t dorm__st_append_result(dorm_client *c, const char *sub, const char *client_id, const char *result,
                               dorm__st_sent_fn sent, void *user) {
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
    int64_t seq = dorm__st_append_message(c, sub, client_id, make_complete, &m, &text);
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
    int64_t seq = dorm__st_append_message(c, sub, client_id, make_chunk, &m, &text);
    cJSON_free(extra);
    if (!seq) return 0;
    sent(user, seq, text);
    free(text);
  }
  result_made m = {client_id, "{\"chunked\":true}"};
  char *text = NULL;
  int64_t seq = dorm__st_append_message(c, sub, client_id, make_complete, &m, &text);
  if (seq) sent(user, seq, text);
  free(text);
  return seq;
}
