/* Semantic analysis: from the parsed files to the resolved schema. */
#ifndef DORMC_SEMA_H
#define DORMC_SEMA_H

#include "ast.h"

/* Checks every loaded source (c->sources, imports first) and builds the
 * resolved schema in the compilation's arena. Reports every problem as a
 * diagnostic; the caller decides from the error count whether the schema is
 * usable. */
const dormc_schema *sema_run(dormc_compilation *c);

#endif
