/* gen_endpoint: the endpoint-code generator (`dormc gen`, streamer).
 *
 * For a schema file that declares endpoints it writes <base>_endpoints.h and
 * <base>_endpoints.c next to <base>_models.h/.c: per endpoint E of prefix
 * ns, the C structs ns_E_request, ns_E_progress (when a progress block is
 * written) and ns_E_result (the same C shapes as model structs; the
 * schema's enums and structs come from <base>_models.h), their const
 * dorm_struct_desc (ns_E_request_desc, ...; a field's JSON member name is
 * its name or @name), the prototype of the handler the user implements
 * (ns_E_handle), a typed progress reporter for async endpoints
 * (ns_E_report), a thunk that adapts the handler to dorm_sync_handler /
 * dorm_async_handler, the const dorm_endpoint_desc ns_E_endpoint, and the
 * route table ns_endpoints / ns_endpoints_count of the file's endpoints.
 * With --stubs it also writes <base>_handlers.c, an empty handler per
 * endpoint, for the user to fill in (never overwritten: the CLI's job).
 *
 * Output is a pure function of the schema: no timestamps, no absolute
 * paths, endpoints in schema order. The texts are C11 and C++.
 */
#ifndef DORMC_GEN_ENDPOINT_H
#define DORMC_GEN_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "gen_model.h"

/* The libdorm streamer ABI the generated code is written for
 * (dorm/streamer.h's DORM_STREAMER_ABI). */
#define DORMC_STREAMER_ABI 1

/* True when schema file `file` (its display path, as in dormc_loc.file)
 * declares an endpoint. */
bool dormc_file_has_endpoints(const dormc_schema *s, const char *file);

/* Generates <base>_endpoints.h and .c for the endpoints declared in `file`
 * (which must declare one). Returns 0 with malloc'd texts (caller frees),
 * -1 when the code cannot be generated (a C name that would collide, or
 * endpoints of the same namespace declared in two files of the
 * compilation: both would define the route table), reported as an error
 * diagnostic of compilation c, -2 when memory is exhausted. */
int dormc_gen_endpoints(dormc_compilation *c, const dormc_schema *s, const char *file, const char *base,
                        char **header, size_t *header_len, char **source, size_t *source_len);

/* Generates <base>_handlers.c: an empty implementation of every handler of
 * the endpoints declared in `file` (each returns dorm_stream_fail(ctx,
 * "HANDLER_FAILED", false, "not implemented")). Same returns as above. */
int dormc_gen_handler_stubs(dormc_compilation *c, const dormc_schema *s, const char *file, const char *base,
                            char **text, size_t *text_len);

/* Generates <base>_endpoints.d.ts (`dormc gen --ts`): TypeScript
 * declarations of the endpoints declared in `file`, their payloads and the
 * action map Endpoints (gen_endpoint_ts.c says what is written). Same
 * returns as above; -1 also for two declarations of one TypeScript name. */
int dormc_gen_endpoints_ts(dormc_compilation *c, const dormc_schema *s, const char *file, const char *base,
                           char **text, size_t *text_len);

/* ---- shared by gen_endpoint_*.c ---- */

/* One struct of an endpoint: its request, progress or result. */
typedef struct gen_ep_part {
  const char *block;        /* "request", "progress", "result" */
  const char *cname;        /* reports_Echo_request */
  const dormc_field *fields;
  size_t nfields;
} gen_ep_part;

typedef struct gen_ep_info {
  const dormc_endpoint *e;
  gen_ep_part parts[3];     /* request, then progress when it has one, then result */
  size_t nparts;
  const gen_ep_part *request, *progress, *result; /* progress NULL without a progress block */
} gen_ep_info;

typedef struct gen_ep_ctx {
  /* The model generator's context: types, names, descriptors. Its file is
   * "" (no declaration is the endpoint code's own), so the descriptors of
   * every enum and struct the endpoints use are described again in
   * <base>_endpoints.c: those of <base>_models.c are private to it. */
  gen_ctx g;
  const char *file;         /* the schema file whose endpoints are generated */
  const char *display;      /* its file name, for the "Generated from" line */
  gen_ep_info *eps;
  size_t neps;
} gen_ep_ctx;

/* "const T *req" style parameter lists of the handler, shared by the
 * prototype and the stubs: "dorm_stream_ctx *ctx, const ns_E_request *req,
 * [dorm_progress *pr, ]ns_E_result *res". */
const char *gen_ep_handler_params(gen_ep_ctx *x, const gen_ep_info *ep);

/* The three texts. */
void gen_endpoint_header(gen_ep_ctx *x);
void gen_endpoint_source(gen_ep_ctx *x);
void gen_endpoint_stubs(gen_ep_ctx *x);
void gen_endpoint_ts(gen_ep_ctx *x);

#endif
