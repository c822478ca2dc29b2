/* ct_table: a scenario's table, deleted and created again (see ct_run.h). */
#include <stdio.h>
#include <string.h>

#include <dorm/tables.h>

#include "ct_run.h"

#define CT_TABLE_TIMEOUT_MS 60000L

static dorm_key_attr key_attr(const dorm_key_desc *k) {
  dorm_key_attr a = {k->attr, k->type == 'N' ? DORM_KEY_N : k->type == 'B' ? DORM_KEY_B : DORM_KEY_S};
  return a;
}

static dorm_projection projection(const ct_model *m, uint32_t i) {
  dorm_projection p = {DORM_PROJECT_ALL, NULL, 0};
  const dorm_index_desc *idx = &m->desc->indexes[i];
  if (idx->projection == 1) p.type = DORM_PROJECT_KEYS_ONLY;
  if (idx->projection == 2) {
    p.type = DORM_PROJECT_INCLUDE;
    if (m->projections) {
      p.attributes = m->projections[i].attrs;
      p.attribute_count = m->projections[i].count;
    }
  }
  return p;
}

int ct_table_reset(dorm_client *c, const ct_model *cm, char *err, size_t errcap) {
  const dorm_model_desc *m = cm->desc;
  dorm_gsi_def gsis[32];
  dorm_lsi_def lsis[8];
  size_t ng = 0, nl = 0;
  memset(gsis, 0, sizeof gsis);
  memset(lsis, 0, sizeof lsis);
  for (uint32_t i = 1; i < m->nindexes; i++) {
    const dorm_index_desc *idx = &m->indexes[i];
    if (idx->kind == DORM_INDEX_GSI && ng < sizeof gsis / sizeof gsis[0]) {
      gsis[ng].name = idx->name;
      gsis[ng].pk = key_attr(&m->keys[idx->pk]);
      if (idx->sk >= 0) gsis[ng].sk = key_attr(&m->keys[idx->sk]);
      gsis[ng].projection = projection(cm, i);
      ng++;
    } else if (idx->kind == DORM_INDEX_LSI && nl < sizeof lsis / sizeof lsis[0]) {
      lsis[nl].name = idx->name;
      if (idx->sk >= 0) lsis[nl].sk = key_attr(&m->keys[idx->sk]);
      lsis[nl].projection = projection(cm, i);
      nl++;
    }
  }
  dorm_table_def def;
  memset(&def, 0, sizeof def);
  def.name = m->table;
  def.pk = key_attr(&m->keys[0]);
  if (m->table_keys > 1) def.sk = key_attr(&m->keys[1]);
  def.billing = DORM_BILLING_ON_DEMAND;
  def.gsis = gsis;
  def.gsi_count = ng;
  def.lsis = lsis;
  def.lsi_count = nl;

  dorm_arena a = DORM_ARENA_INIT;
  dorm_table_description d;
  dorm_status st = dorm_delete_table(c, m->table, &a, &d);
  if (st == DORM_OK) st = dorm_wait_table_deleted(c, m->table, CT_TABLE_TIMEOUT_MS);
  else if (st == DORM_ERR_TABLE_NOT_FOUND) st = DORM_OK;
  const char *step = "deleting";
  if (st == DORM_OK) {
    step = "creating";
    st = dorm_create_table(c, &def, &a, &d);
  }
  if (st == DORM_OK) {
    step = "waiting for";
    st = dorm_wait_table_active(c, m->table, CT_TABLE_TIMEOUT_MS, &a, &d);
  }
  dorm_arena_free(&a);
  if (st != DORM_OK) {
    snprintf(err, errcap, "%s table %s: %s", step, m->table,
             dorm_client_errmsg(c)[0] ? dorm_client_errmsg(c) : dorm_strerror(st));
    return -1;
  }
  return 0;
}
