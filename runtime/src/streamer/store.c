/* store: the streamer's tables (schemas/streamer.dorm) as the router and the
 * processor use them, only through the generated code (streamer_models.h).
 *
 * Every server message of a request gets the next seq from one atomic
 * UpdateItem (ADD seq 1, returning the new item) and is then persisted under
 * (request, seq) in the messages table, so a client that resumes gets
 * exactly what it missed. */
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
    if (text && dorm_streamer_Message_put(c, &m, NULL, &a) == DORM_OK) *text_out = text;
    else {
      free(text);
      seq = 0;
    }
  }
  dorm_arena_free(&a);
  return seq;
}
