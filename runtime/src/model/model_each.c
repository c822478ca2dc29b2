/* Every page of a query or scan to a callback (dorm_model_each).
 *
 * Two arenas take turns: the page being read goes into one while the
 * other still holds the previous page, whose cursor the request needs; so
 * memory stays at about two pages however many there are. */
#include <string.h>

#include "model_internal.h"

dorm_status dorm_model_each(dorm_client *c, const dorm_model_desc *m, uint32_t index, const void *pk_obj,
                            const dorm_sk_cond *sk, const dorm_query_opts *o, dorm_items_fn on_items, void *user) {
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  if (!m || !on_items) {
    dorm__client_clear_error(c);
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, pk_obj ? "Query" : "Scan",
                             "dorm_model_each: %s is NULL", m ? "on_items" : "the model");
  }
  dorm_query_opts opts;
  if (o) opts = *o;
  else memset(&opts, 0, sizeof opts);
  dorm_arena pages[2] = {DORM_ARENA_INIT, DORM_ARENA_INIT};
  int cur = 0;
  dorm_status st;
  for (;;) {
    dorm_model_page page;
    st = pk_obj ? dorm_model_query(c, m, index, pk_obj, sk, &opts, &pages[cur], &page)
                : dorm_model_scan(c, m, index, &opts, &pages[cur], &page);
    if (st != DORM_OK) break;
    if (page.count && (st = on_items(user, page.items, page.count)) != DORM_OK) break;
    if (!page.has_more || !page.cursor) break;
    opts.cursor = page.cursor; /* in pages[cur], kept while the next page is read */
    cur ^= 1;
    dorm_arena_reset(&pages[cur]);
  }
  dorm_arena_free(&pages[0]);
  dorm_arena_free(&pages[1]);
  return st;
}
