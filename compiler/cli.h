/* The dormc command line: each command is one row in main.c's table and one
 * cli_<name>.c file defining its dormc_cli_command. */
#ifndef DORMC_CLI_H
#define DORMC_CLI_H

#include "dormc.h"

/* Exit codes shared by every command. */
enum { DORMC_EXIT_OK = 0, DORMC_EXIT_SCHEMA = 1, DORMC_EXIT_USAGE = 2 };

typedef struct dormc_cli_command {
  const char *name;
  const char *summary; /* one line for `dormc --help` */
  const char *usage;   /* the full text for `dormc help <name>` */
  /* argv[0] is the command name; returns an exit code. */
  int (*run)(int argc, char **argv);
} dormc_cli_command;

extern const dormc_cli_command dormc_cmd_check;
extern const dormc_cli_command dormc_cmd_fmt;
extern const dormc_cli_command dormc_cmd_dms;
extern const dormc_cli_command dormc_cmd_gen;
extern const dormc_cli_command dormc_cmd_migrate;

/* Prints "dormc <cmd>: <message>" and the command's usage to stderr and
 * returns DORMC_EXIT_USAGE. */
int cli_usage_error(const dormc_cli_command *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* mkdir -p: creates dir and its missing parents. 0 on success, -1 with
 * errno set otherwise. */
int cli_mkdir_p(const char *dir);

/* Options every command that reads schemas uses: diagnostics to stderr. */
dormc_options cli_default_options(void);

#endif
