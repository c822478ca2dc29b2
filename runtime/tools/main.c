/* dorm: the command-line companion of libdorm. main() only dispatches to
 * the commands in the table below (see commands.h). */
#include <stdio.h>
#include <string.h>

#include "commands.h"

#ifndef DORM_TOOL_VERSION
#error "DORM_TOOL_VERSION must be defined by the build"
#endif

static const dorm_command commands[] = {
    {"sign", "sign a raw HTTP request with AWS SigV4 (debug SignatureDoesNotMatch)",
     dorm_sign_main, dorm_sign_help},
    {"migrate", "apply schema migrations: deploy, status, resolve, backfill", dorm_migrate_main,
     dorm_migrate_help},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const dorm_command *find(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

static void usage(FILE *out) {
  fprintf(out, "usage: dorm <command> [options]\n"
               "       dorm help <command>\n"
               "       dorm --version\n\n"
               "commands:\n");
  for (size_t i = 0; i < NCOMMANDS; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

static int unknown(const char *name) {
  fprintf(stderr, "dorm: unknown command '%s' (see 'dorm --help')\n", name);
  return DORM_EXIT_USAGE;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return DORM_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
      (strcmp(cmd, "help") == 0 && argc == 2)) {
    usage(stdout);
    return DORM_EXIT_OK;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("dorm %s\n", DORM_TOOL_VERSION);
    return DORM_EXIT_OK;
  }
  if (strcmp(cmd, "help") == 0) {
    if (argc > 3) {
      fprintf(stderr, "dorm: 'help' takes one command name (see 'dorm --help')\n");
      return DORM_EXIT_USAGE;
    }
    const dorm_command *c = find(argv[2]);
    if (c == NULL)
      return unknown(argv[2]);
    c->help(stdout);
    return DORM_EXIT_OK;
  }
  if (cmd[0] == '-') {
    fprintf(stderr, "dorm: unknown option '%s' (see 'dorm --help')\n", cmd);
    return DORM_EXIT_USAGE;
  }
  const dorm_command *c = find(cmd);
  if (c == NULL)
    return unknown(cmd);
  return c->run(argc - 1, argv + 1);
}
