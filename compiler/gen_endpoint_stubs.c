/* gen_endpoint_stubs: <base>_handlers.c for `dormc gen --stubs DIR`: an
 * empty implementation of every handler, written once for the user to fill
 * in (the CLI never overwrites it). It compiles as it is, and every
 * endpoint answers HANDLER_FAILED "not implemented" until it is filled in. */
#include "gen_endpoint.h"

#define P(...) sb_printf(&x->g.out, __VA_ARGS__)

void gen_endpoint_stubs(gen_ep_ctx *x) {
  gen_ctx *g = &x->g;
  P("/* The handlers of the endpoints of %s: written once by `dormc gen --stubs`\n"
    " * and yours from then on (dormc never overwrites this file). The types and\n"
    " * what a handler may do are in %s_endpoints.h and docs/streamer.md. */\n",
    x->display, g->base);
  P("#include \"%s_endpoints.h\"\n", g->base);
  for (size_t i = 0; i < x->neps; i++) {
    const gen_ep_info *ep = &x->eps[i];
    const dormc_endpoint *e = ep->e;
    bool async = e->mode == DORMC_ENDPOINT_ASYNC;
    P("\n/* %s (%s): fill *res from *req", e->name, async ? "async" : "sync");
    if (async)
      P(";\n * report progress with %s_report(pr, percent, message%s)\n"
        " * and stop when dorm_stream_cancelled(ctx). */\n",
        e->c_name, ep->progress ? ", &progress" : "");
    else
      P(". */\n");
    P("dorm_status %s_handle(%s) {\n", e->c_name, gen_ep_handler_params(x, ep));
    P("  (void)req;\n");
    if (async) P("  (void)pr;\n");
    P("  (void)res;\n");
    P("  /* TODO: implement %s. */\n", e->name);
    P("  return dorm_stream_fail(ctx, \"HANDLER_FAILED\", false, \"not implemented\");\n}\n");
  }
}
