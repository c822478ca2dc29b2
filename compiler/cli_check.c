/* dormc check: parse and check schemas, report every problem. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dormc_schema.h"

static int run(int argc, char **argv);

const dormc_cli_command dormc_cmd_check = {
    .name = "check",
    .summary = "check schemas and report errors and warnings",
    .usage = "usage: dormc check [--dump] [--max-errors=N] FILE...\n"
             "\n"
             "Parses each FILE (and the files it imports) and checks it against the\n"
             "rules of the .dorm language. Diagnostics go to stderr as\n"
             "  path:line:col: error: message\n"
             "with the source line and a caret. Nothing is printed for a clean schema.\n"
             "\n"
             "  --dump          print the resolved schema of each clean FILE to stdout\n"
             "  --max-errors=N  stop after N errors (default 20)\n"
             "\n"
             "Exit status: 0 ok (warnings allowed), 1 schema errors, 2 usage or I/O errors.\n",
    .run = run,
};

static int run(int argc, char **argv) {
  bool dump = false;
  unsigned max_errors = 0;
  int nfiles = 0;
  bool options_done = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!options_done && strcmp(a, "--") == 0) options_done = true;
    else if (!options_done && strcmp(a, "--dump") == 0) dump = true;
    else if (!options_done && strncmp(a, "--max-errors=", 13) == 0) {
      char *end;
      unsigned long v = strtoul(a + 13, &end, 10);
      if (!a[13] || *end || v == 0 || v > 100000)
        return cli_usage_error(&dormc_cmd_check, "--max-errors needs a number from 1 to 100000");
      max_errors = (unsigned)v;
    } else if (!options_done && a[0] == '-' && a[1]) return cli_usage_error(&dormc_cmd_check, "unknown option '%s'", a);
    else nfiles++;
  }
  if (nfiles == 0) return cli_usage_error(&dormc_cmd_check, "no schema files given");
  int status = DORMC_EXIT_OK;
  options_done = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!options_done && strcmp(a, "--") == 0) {
      options_done = true;
      continue;
    }
    if (!options_done && a[0] == '-' && a[1]) continue;
    dormc_options o = cli_default_options();
    o.max_errors = max_errors;
    dormc_compilation *c = dormc_new(&o);
    if (!c) {
      fprintf(stderr, "dormc: out of memory\n");
      return DORMC_EXIT_USAGE;
    }
    int rc = dormc_load_file(c, a);
    if (rc == 0) rc = dormc_analyze(c);
    if (rc == -2) {
      status = DORMC_EXIT_USAGE;
    } else if (rc != 0) {
      if (status == DORMC_EXIT_OK) status = DORMC_EXIT_SCHEMA;
    } else if (dump) {
      char *text = dormc_schema_dump(dormc_get_schema(c));
      if (text) fputs(text, stdout);
      free(text);
    }
    dormc_free(c);
  }
  return status;
}
