/* gen_endpoint: entry points of the endpoint-code generator (see
 * gen_endpoint.h): the endpoints of a file, their C names and collisions. */
#include "gen_endpoint.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

static void gen_oom(void *user) { longjmp(*(jmp_buf *)user, 1); }

bool dormc_file_has_endpoints(const dormc_schema *s, const char *file) {
  for (size_t i = 0; i < s->nendpoints; i++)
    if (s->endpoints[i].loc.file && strcmp(s->endpoints[i].loc.file, file) == 0) return true;
  return false;
}

static void add_part(gen_ep_ctx *x, gen_ep_info *ep, const char *block, const dormc_field *f, size_t n) {
  gen_ep_part *p = &ep->parts[ep->nparts++];
  p->block = block;
  p->cname = arena_printf(&x->g.mem, "%s_%s", ep->e->c_name, block);
  p->fields = f;
  p->nfields = n;
}

/* The file's endpoints with their parts; every C name the generated code
 * declares, so that a clash is an error naming both uses. */
static void collect(gen_ep_ctx *x) {
  gen_ctx *g = &x->g;
  const dormc_schema *s = g->s;
  x->eps = arena_alloc(&g->mem, (s->nendpoints + 1) * sizeof *x->eps);
  const dormc_endpoint *foreign = NULL;
  for (size_t i = 0; i < s->nendpoints; i++) {
    const dormc_endpoint *e = &s->endpoints[i];
    if (!e->loc.file || strcmp(e->loc.file, x->file) != 0) {
      if (!foreign) foreign = e;
      continue;
    }
    gen_ep_info *ep = &x->eps[x->neps++];
    ep->e = e;
    add_part(x, ep, "request", e->request, e->nrequest);
    if (e->has_progress) add_part(x, ep, "progress", e->progress, e->nprogress);
    add_part(x, ep, "result", e->result, e->nresult);
    ep->request = &ep->parts[0];
    ep->progress = e->has_progress ? &ep->parts[1] : NULL;
    ep->result = &ep->parts[ep->nparts - 1];
  }
  if (foreign && x->neps) {
    gen_fail(g, x->eps[0].e->loc,
             "endpoints of namespace '%s' are declared in %s and in %s; the route table %s_endpoints is generated "
             "per file, so declare every endpoint of a namespace in one file",
             s->namespace_, x->file, foreign->loc.file, g->prefix);
    return;
  }

  /* The schema's own type names (sema keeps them apart; the generated names
   * below must not fall on them), then everything the endpoint code adds. */
  for (size_t i = 0; i < s->nenums; i++)
    gen_declare(g, s->enums[i].c_name, arena_printf(&g->mem, "enum '%s'", s->enums[i].name), &s->enums[i].loc);
  for (size_t i = 0; i < s->nstructs; i++)
    gen_declare(g, s->structs[i].c_name, arena_printf(&g->mem, "struct '%s'", s->structs[i].name),
                &s->structs[i].loc);
  for (size_t i = 0; i < s->nmodels; i++)
    gen_declare(g, s->models[i].c_name, arena_printf(&g->mem, "model '%s'", s->models[i].name), &s->models[i].loc);
  for (size_t i = 0; i < s->nendpoints; i++)
    gen_declare(g, s->endpoints[i].c_name, arena_printf(&g->mem, "endpoint '%s'", s->endpoints[i].name),
                &s->endpoints[i].loc);
  for (size_t i = 0; i < x->neps; i++) {
    const gen_ep_info *ep = &x->eps[i];
    const char *E = ep->e->c_name;
    const char *what = arena_printf(&g->mem, "the code of endpoint '%s'", ep->e->name);
    for (size_t k = 0; k < ep->nparts; k++) {
      gen_declare(g, ep->parts[k].cname, what, &ep->e->loc);
      gen_declare(g, arena_printf(&g->mem, "%s_desc", ep->parts[k].cname), what, &ep->e->loc);
      gen_declare(g, arena_printf(&g->mem, "%s_fields", ep->parts[k].cname), what, &ep->e->loc);
    }
    static const char *const fixed[] = {"handle", "report", "thunk", "scopes", "endpoint"};
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
      gen_declare(g, arena_printf(&g->mem, "%s_%s", E, fixed[k]), what, &ep->e->loc);
  }
  const dormc_loc *at = x->neps ? &x->eps[0].e->loc : NULL;
  gen_declare(g, arena_printf(&g->mem, "%s_endpoints", g->prefix), "the route table of the endpoints", at);
  gen_declare(g, arena_printf(&g->mem, "%s_endpoints_count", g->prefix), "the route table of the endpoints", at);
}

const char *gen_ep_handler_params(gen_ep_ctx *x, const gen_ep_info *ep) {
  return arena_printf(&x->g.mem, "dorm_stream_ctx *ctx, const %s *req,\n    %s%s *res", ep->request->cname,
                      ep->e->mode == DORMC_ENDPOINT_ASYNC ? "dorm_progress *pr, " : "", ep->result->cname);
}

typedef void (*emit_fn)(gen_ep_ctx *x);

/* Runs the emitters in a fresh context; texts[i] gets what emitters[i]
 * wrote. Returns 0, -1 (reported) or -2 (out of memory). */
static int run(dormc_compilation *comp, const dormc_schema *s, const char *file, const char *base,
               const emit_fn *emitters, size_t n, char **texts, size_t *lens) {
  for (size_t i = 0; i < n; i++) texts[i] = NULL;
  gen_ep_ctx *x = calloc(1, sizeof *x);
  if (!x) return -2;
  jmp_buf oom;
  gen_ctx *g = &x->g;
  g->s = s;
  g->file = "";
  g->base = base;
  g->prefix = s->c_prefix;
  g->comp = comp;
  x->file = file;
  const char *slash = strrchr(file, '/');
  x->display = slash ? slash + 1 : file;
  arena_init(&g->mem, gen_oom, &oom);
  if (setjmp(oom)) {
    sb_free(&g->out);
    for (size_t i = 0; i < n; i++) {
      free(texts[i]);
      texts[i] = NULL;
    }
    arena_release(&g->mem);
    free(x);
    return -2;
  }
  g->upper_prefix = gen_upper(g, s->c_prefix);
  collect(x);
  int rc = 0;
  if (!g->failed && x->neps == 0) {
    gen_fail(g, (dormc_loc){.file = file}, "%s declares no endpoint", x->display);
  }
  for (size_t i = 0; i < n && !g->failed; i++) {
    emitters[i](x);
    texts[i] = sb_take(&g->out, &lens[i]);
    if (!texts[i]) rc = -2;
  }
  if (rc == 0 && g->failed) rc = -1;
  if (rc != 0) {
    for (size_t i = 0; i < n; i++) {
      free(texts[i]);
      texts[i] = NULL;
    }
  }
  sb_free(&g->out);
  arena_release(&g->mem);
  free(x);
  return rc;
}

int dormc_gen_endpoints(dormc_compilation *c, const dormc_schema *s, const char *file, const char *base,
                        char **header, size_t *header_len, char **source, size_t *source_len) {
  static const emit_fn emitters[] = {gen_endpoint_header, gen_endpoint_source};
  char *texts[2];
  size_t lens[2] = {0, 0};
  int rc = run(c, s, file, base, emitters, 2, texts, lens);
  *header = texts[0];
  *header_len = lens[0];
  *source = texts[1];
  *source_len = lens[1];
  return rc;
}

int dormc_gen_handler_stubs(dormc_compilation *c, const dormc_schema *s, const char *file, const char *base,
                            char **text, size_t *text_len) {
  static const emit_fn emitters[] = {gen_endpoint_stubs};
  size_t len = 0;
  int rc = run(c, s, file, base, emitters, 1, text, &len);
  *text_len = len;
  return rc;
}

int dormc_gen_endpoints_ts(dormc_compilation *c, const dormc_schema *s, const char *file, const char *base,
                           char **text, size_t *text_len) {
  static const emit_fn emitters[] = {gen_endpoint_ts};
  size_t len = 0;
  int rc = run(c, s, file, base, emitters, 1, text, &len);
  *text_len = len;
  return rc;
}
