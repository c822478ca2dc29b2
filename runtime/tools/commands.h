/* The dorm tool's subcommands. Each is one row in main.c's table and one
 * file: run() gets argv with argv[0] = the command name and returns the
 * process exit status (0 ok, 1 failure, 2 usage error); help() prints the
 * command's full usage. Adding a command: write dorm_<name>.c, declare its
 * two functions here, add a row to the table. */
#ifndef DORM_TOOL_COMMANDS_H
#define DORM_TOOL_COMMANDS_H

#include <stdio.h>

#define DORM_EXIT_OK 0
#define DORM_EXIT_FAILURE 1
#define DORM_EXIT_USAGE 2

typedef struct dorm_command {
  const char *name;
  const char *summary; /* one line for `dorm --help` */
  int (*run)(int argc, char **argv);
  void (*help)(FILE *out);
} dorm_command;

int dorm_sign_main(int argc, char **argv);
void dorm_sign_help(FILE *out);
int dorm_migrate_main(int argc, char **argv);
void dorm_migrate_help(FILE *out);

#endif
