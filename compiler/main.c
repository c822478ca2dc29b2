#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dormc.h"

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    printf("dormc %s\n", dormc_version());
    return 0;
  }
  if (argc > 2 && strcmp(argv[1], "check") == 0) {
    dormc_options o = {.on_diag = dormc_diag_fprint, .diag_user = stderr};
    dormc_compilation *c = dormc_new(&o);
    int rc = dormc_load_file(c, argv[2]);
    if (rc == 0) rc = dormc_analyze(c);
    if (rc == 0 && argc > 3) {
      char *d = dormc_schema_dump(dormc_get_schema(c));
      fputs(d, stdout);
      free(d);
    }
    dormc_free(c);
    return rc == 0 ? 0 : rc == -2 ? 2 : 1;
  }
  fprintf(stderr, "usage: dormc --version | dormc check FILE\n");
  return 2;
}
