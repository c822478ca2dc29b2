/* Links the handler stubs `dormc gen --stubs` writes with the generated
 * endpoint code and libdorm: every handler the route tables point at is
 * defined by the stubs (calling one needs the streamer's context: the
 * streamer's own tests do that). */
#include <stdio.h>

#include "endpoints_endpoints.h"
#include "kitchen_endpoints.h"

static int check(const dorm_endpoint_desc *const *eps, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const dorm_endpoint_desc *e = eps[i];
    if (e->mode == DORM_ENDPOINT_SYNC ? !e->sync_handler || e->async_handler : !e->async_handler || e->sync_handler) {
      fprintf(stderr, "%s: wrong handlers\n", e->name);
      return 1;
    }
  }
  return 0;
}

int main(void) {
  if (check(reports_endpoints, reports_endpoints_count) || check(kitchen_ep_endpoints, kitchen_ep_endpoints_count))
    return 1;
  puts("ok");
  return 0;
}
