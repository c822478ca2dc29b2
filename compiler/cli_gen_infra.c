/* dormc gen --infra DIR: DIR/<name>.template.json, the schema's CloudFormation
 * template (gen_infra.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gen_infra.h"

/* What a Lambda invocation cannot hold (docs/streamer.md, On AWS): a sync
 * call runs in its $default invocation, at most WebSocketTimeout (29 s,
 * API Gateway's integration timeout; handlers get it less 1 s); a job's run
 * in a stream invocation, at most StreamTimeout (15 min, Lambda's limit),
 * after which it is given back and starts again from the beginning. Said
 * when the template is written, since nothing on AWS says it later. */
#define LAMBDA_SYNC_MS (29000 - 1000)
#define LAMBDA_MAX_MS (15 * 60 * 1000)

static void lambda_limit_warnings(const dormc_schema *s) {
  for (size_t i = 0; i < s->nendpoints; i++) {
    const dormc_endpoint *e = &s->endpoints[i];
    char where[300] = "";
    if (e->loc.file) snprintf(where, sizeof where, "%s:%u:%u: ", e->loc.file, e->loc.line, e->loc.col);
    if (e->mode == DORMC_ENDPOINT_SYNC && e->timeout_ms > LAMBDA_SYNC_MS)
      fprintf(stderr,
              "%swarning: endpoint %s (sync) has a timeout of %lld ms, but on AWS Lambda a sync call runs in its "
              "$default invocation, which lasts at most 29 s (WebSocketTimeout: API Gateway's integration "
              "timeout): a call still running at %d ms is answered TIMEOUT; make it async, or its timeout at most "
              "%d ms\n",
              where, e->name, (long long)e->timeout_ms, LAMBDA_SYNC_MS, LAMBDA_SYNC_MS);
    if (e->mode == DORMC_ENDPOINT_ASYNC && e->timeout_ms > LAMBDA_MAX_MS)
      fprintf(stderr,
              "%swarning: endpoint %s (async) has a timeout of %lld ms, longer than a Lambda invocation can run "
              "(StreamTimeout, at most 15 min): on AWS a run still going 1 s before its invocation ends is given "
              "back and starts again from the beginning in the next one, so a job that needs longer never ends "
              "(its stream record goes to StreamFailureQueue after StreamMaximumRetryAttempts, its request stays "
              "PENDING)\n",
              where, e->name, (long long)e->timeout_ms);
  }
}

int dormc_cli_gen_infra(const char *schema, const char *dir) {
  dormc_options o = cli_default_options();
  dormc_compilation *c = dormc_new(&o);
  if (!c) {
    fprintf(stderr, "dormc gen: out of memory\n");
    return DORMC_EXIT_USAGE;
  }
  int rc = dormc_load_file(c, schema);
  if (rc != 0 || dormc_analyze(c) != 0) { /* diagnostics went to stderr */
    dormc_free(c);
    return rc == -2 ? DORMC_EXIT_USAGE : DORMC_EXIT_SCHEMA;
  }
  char *text = NULL;
  size_t len = 0;
  lambda_limit_warnings(dormc_get_schema(c));
  if (dormc_gen_infra(dormc_get_schema(c), &text, &len) != 0) {
    dormc_free(c);
    fprintf(stderr, "dormc gen: out of memory\n");
    return DORMC_EXIT_USAGE;
  }
  dormc_free(c);
  const char *slash = strrchr(schema, '/');
  const char *name = slash ? slash + 1 : schema;
  size_t n = strlen(name);
  if (n > 5 && strcmp(name + n - 5, ".dorm") == 0) n -= 5;
  size_t plen = strlen(dir) + n + 32;
  char *path = malloc(plen);
  int result = DORMC_EXIT_OK;
  if (!path) {
    fprintf(stderr, "dormc gen: out of memory\n");
    result = DORMC_EXIT_USAGE;
  } else {
    snprintf(path, plen, "%s/%.*s.template.json", dir, (int)n, name);
    FILE *f = fopen(path, "wb");
    size_t put = f ? fwrite(text, 1, len, f) : 0;
    if (!f || fclose(f) != 0 || put != len) {
      fprintf(stderr, "dormc gen: cannot write %s: %s\n", path, strerror(errno));
      result = DORMC_EXIT_USAGE;
    } else {
      printf("dormc gen: wrote %s\n", path);
    }
  }
  free(path);
  free(text);
  return result;
}
