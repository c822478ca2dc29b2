#include "sema.h"
const dormc_schema *sema_run(dormc_compilation *c) {
  return arena_alloc(&c->arena, sizeof(dormc_schema));
}
