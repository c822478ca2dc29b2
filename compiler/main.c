/* dormc: the command-line driver. Commands live in the table below; adding
 * one is one row here and one cli_<name>.c file (see cli.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const dormc_cli_command *const commands[] = {
    &dormc_cmd_check,
    &dormc_cmd_fmt,
    &dormc_cmd_dms,
    &dormc_cmd_gen,
    &dormc_cmd_migrate,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const dormc_cli_command *find(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i]->name, name) == 0) return commands[i];
  return NULL;
}

static void overview(FILE *f) {
  fprintf(f,
          "usage: dormc <command> [options] [files]\n"
          "\n"
          "dormc compiles .dorm schemas (DynamoDB models and streamer endpoints).\n"
          "\n"
          "commands:\n");
  for (size_t i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
  fprintf(f,
          "  %-10s %s\n"
          "\n"
          "options:\n"
          "  --help     show this text\n"
          "  --version  show the version\n"
          "\n"
          "Exit status: 0 ok (warnings allowed), 1 schema errors, 2 usage or I/O errors.\n",
          "help", "show the usage of a command: dormc help <command>");
}

int cli_usage_error(const dormc_cli_command *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "dormc %s: ", cmd->name);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n%s", cmd->usage);
  va_end(ap);
  return DORMC_EXIT_USAGE;
}

int cli_mkdir_p(const char *dir) {
  char *p = strdup(dir);
  if (!p) return -1;
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      free(p);
      return -1;
    }
    *s = '/';
  }
  int rc = mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
  free(p);
  return rc;
}

dormc_options cli_default_options(void) {
  dormc_options o = {.on_diag = dormc_diag_fprint, .diag_user = stderr};
  return o;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    overview(stderr);
    return DORMC_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
    printf("dormc %s\n", dormc_version());
    return DORMC_EXIT_OK;
  }
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
    overview(stdout);
    return DORMC_EXIT_OK;
  }
  if (strcmp(name, "help") == 0) {
    if (argc < 3) {
      overview(stdout);
      return DORMC_EXIT_OK;
    }
    if (strcmp(argv[2], "help") == 0) { /* `help` is listed among the commands */
      overview(stdout);
      return DORMC_EXIT_OK;
    }
    const dormc_cli_command *cmd = find(argv[2]);
    if (!cmd) {
      fprintf(stderr, "dormc: unknown command '%s'\n", argv[2]);
      overview(stderr);
      return DORMC_EXIT_USAGE;
    }
    fputs(cmd->usage, stdout);
    return DORMC_EXIT_OK;
  }
  const dormc_cli_command *cmd = find(name);
  if (!cmd) {
    fprintf(stderr, "dormc: unknown command '%s'\n", name);
    overview(stderr);
    return DORMC_EXIT_USAGE;
  }
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(cmd->usage, stdout);
      return DORMC_EXIT_OK;
    }
  }
  return cmd->run(argc - 1, argv + 1);
}
