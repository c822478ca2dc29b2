/* dormc gen --infra DIR: DIR/<name>.template.json, the schema's CloudFormation
 * template (gen_infra.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gen_infra.h"

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
