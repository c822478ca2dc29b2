/* gen_model: entry point of the model-code generator (see gen_model.h). */
#include "gen_model.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* Generation allocates from its own arena; running out of memory unwinds to
 * dormc_gen_models, which reports it. */
static void gen_oom(void *user) { longjmp(*(jmp_buf *)user, 1); }

int dormc_gen_models(dormc_compilation *comp, const dormc_schema *s, const char *file, const char *base,
                     const char *const *other_bases, size_t n_other, char **header, size_t *header_len,
                     char **source, size_t *source_len) {
  *header = *source = NULL;
  gen_ctx *g = calloc(1, sizeof *g);
  if (!g) return -2;
  jmp_buf oom;
  g->s = s;
  g->file = file;
  g->base = base;
  g->prefix = s->c_prefix;
  g->comp = comp;
  arena_init(&g->mem, gen_oom, &oom);
  if (setjmp(oom)) {
    sb_free(&g->out);
    free(*header);
    *header = NULL;
    arena_release(&g->mem);
    free(g);
    return -2;
  }
  g->upper_prefix = gen_upper(g, s->c_prefix);
  gen_collect_containers(g);

  gen_model_header(g, other_bases, n_other);
  char *h = sb_take(&g->out, header_len);
  *header = h;
  gen_model_source(g);
  char *c = sb_take(&g->out, source_len);
  int rc = 0;
  if (!h || !c) rc = -2;
  else if (g->failed) rc = -1;
  if (rc != 0) {
    free(h);
    free(c);
    *header = NULL;
  } else {
    *source = c;
  }
  arena_release(&g->mem);
  free(g);
  return rc;
}
