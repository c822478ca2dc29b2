/* dorm_model_table_ensure: a schema's table, created when missing. */
#include "aws_internal.h"
#include "dorm/model.h"
#include "dorm/tables.h"

dorm_status dorm_model_table_ensure(dorm_client *c, const dorm_model_table *t, long timeout_ms) {
  dorm_status st = dorm_create_table(c, &t->def, NULL, NULL);
  /* An existing table is fine: ensure, not create. */
  if (st != DORM_OK && st != DORM_ERR_RESOURCE_IN_USE) return st;
  st = dorm_wait_table_active(c, t->def.name, timeout_ms, NULL, NULL);
  if (st != DORM_OK || !t->ttl_attr) return st;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_ttl_description ttl;
  st = dorm_describe_ttl(c, t->def.name, &a, &ttl);
  bool enabled = st == DORM_OK && (ttl.status == DORM_TTL_ENABLED || ttl.status == DORM_TTL_ENABLING);
  dorm_arena_free(&a);
  if (st != DORM_OK || enabled) return st;
  return dorm_update_ttl(c, t->def.name, t->ttl_attr, true);
}
