/* Table operations: checking definitions, the CreateTable / UpdateTable
 * request bodies, and reading TableDescriptions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table_json.h"
#include "core_internal.h"

#define MAX_GSIS 20
#define MAX_LSIS 5
#define MAX_PROJECTED 100       /* non-key attributes over all indexes of a table */
#define MAX_NAME_BYTES 255      /* attribute and index names */
/* Attribute definitions of a table: its keys and those of 20 GSIs and 5 LSIs. */
#define MAX_ATTRS (2 + 2 * MAX_GSIS + MAX_LSIS)

/* ---- names of enum values ---- */

const char *dorm_table_status_name(dorm_table_status s) {
  switch (s) {
  case DORM_TABLE_CREATING: return "CREATING";
  case DORM_TABLE_UPDATING: return "UPDATING";
  case DORM_TABLE_DELETING: return "DELETING";
  case DORM_TABLE_ACTIVE: return "ACTIVE";
  case DORM_TABLE_INACCESSIBLE_ENCRYPTION_CREDENTIALS: return "INACCESSIBLE_ENCRYPTION_CREDENTIALS";
  case DORM_TABLE_ARCHIVING: return "ARCHIVING";
  case DORM_TABLE_ARCHIVED: return "ARCHIVED";
  default: return "?";
  }
}

const char *dorm_billing_mode_name(dorm_billing_mode b) {
  switch (b) {
  case DORM_BILLING_ON_DEMAND: return "PAY_PER_REQUEST";
  case DORM_BILLING_PROVISIONED: return "PROVISIONED";
  default: return "?";
  }
}

const char *dorm_stream_view_name(dorm_stream_view v) {
  switch (v) {
  case DORM_STREAM_NONE: return "NONE";
  case DORM_STREAM_KEYS_ONLY: return "KEYS_ONLY";
  case DORM_STREAM_NEW_IMAGE: return "NEW_IMAGE";
  case DORM_STREAM_OLD_IMAGE: return "OLD_IMAGE";
  case DORM_STREAM_NEW_AND_OLD_IMAGES: return "NEW_AND_OLD_IMAGES";
  default: return "?";
  }
}

const char *dorm_projection_type_name(dorm_projection_type p) {
  switch (p) {
  case DORM_PROJECT_ALL: return "ALL";
  case DORM_PROJECT_KEYS_ONLY: return "KEYS_ONLY";
  case DORM_PROJECT_INCLUDE: return "INCLUDE";
  default: return "?";
  }
}

const char *dorm_key_type_name(dorm_key_type t) {
  switch (t) {
  case DORM_KEY_S: return "S";
  case DORM_KEY_N: return "N";
  case DORM_KEY_B: return "B";
  default: return "?";
  }
}

/* ---- checks ---- */

typedef struct checker {
  char *err;
  size_t cap;
} checker;

/* A failed check: the message into k's buffer; DORM_ERR_INVALID_ARGUMENT. */
#define bad(k, ...) dorm__fail((k)->err, (k)->cap, DORM_ERR_INVALID_ARGUMENT, __VA_ARGS__)

static bool name_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
         ch == '-' || ch == '.';
}

/* Table and index names: 3..255 characters of [A-Za-z0-9_.-]. */
static dorm_status check_resource_name(checker *k, const char *name, const char *what) {
  if (!name || !*name) return bad(k, "%s: no name", what);
  size_t n = strlen(name);
  if (n < 3 || n > 255) return bad(k, "%s: name \"%.64s\" must be 3 to 255 characters long", what, name);
  for (size_t i = 0; i < n; i++)
    if (!name_char(name[i]))
      return bad(k, "%s: name \"%.64s\" may contain only letters, digits, '_', '-' and '.'", what, name);
  return DORM_OK;
}

dorm_status dorm__tables_check_name(const char *name, const char *what, char *errbuf, size_t errcap) {
  checker k = {errbuf, errcap};
  return check_resource_name(&k, name, what);
}

static dorm_status check_attr_name(checker *k, const char *name, const char *what) {
  if (!name || !*name) return bad(k, "%s: no attribute name", what);
  size_t n = strlen(name);
  if (n > MAX_NAME_BYTES) return bad(k, "%s: attribute name is longer than %d bytes", what, MAX_NAME_BYTES);
  if (!dorm__utf8_valid(name, n, NULL)) return bad(k, "%s: attribute name is not valid UTF-8", what);
  return DORM_OK;
}

static dorm_status check_key(checker *k, const dorm_key_attr *key, const char *what) {
  dorm_status st = check_attr_name(k, key->name, what);
  if (st != DORM_OK) return st;
  if (key->type != DORM_KEY_S && key->type != DORM_KEY_N && key->type != DORM_KEY_B)
    return bad(k, "%s: attribute %s has no valid key type (S, N or B)", what, key->name);
  return DORM_OK;
}

static dorm_status check_throughput(checker *k, const dorm_throughput *t, bool provisioned, const char *what) {
  if (provisioned) {
    if (t->read < 1 || t->write < 1)
      return bad(k, "%s: a provisioned table needs read and write capacity of at least 1 (got %lld/%lld)", what,
                 (long long)t->read, (long long)t->write);
  } else if (t->read != 0 || t->write != 0) {
    return bad(k, "%s: capacity is only for provisioned billing (the table is on-demand)", what);
  }
  return DORM_OK;
}

static dorm_status check_projection(checker *k, const dorm_projection *p, const char *what, size_t *projected) {
  if (p->type != DORM_PROJECT_ALL && p->type != DORM_PROJECT_KEYS_ONLY && p->type != DORM_PROJECT_INCLUDE)
    return bad(k, "%s.projection: unknown projection type %d", what, (int)p->type);
  if (p->type != DORM_PROJECT_INCLUDE) {
    if (p->attribute_count)
      return bad(k, "%s.projection: only an INCLUDE projection lists attributes", what);
    return DORM_OK;
  }
  if (p->attribute_count == 0 || !p->attributes)
    return bad(k, "%s.projection: an INCLUDE projection needs at least one attribute", what);
  for (size_t i = 0; i < p->attribute_count; i++) {
    char w[96];
    snprintf(w, sizeof w, "%s.projection.attributes[%zu]", what, i);
    dorm_status st = check_attr_name(k, p->attributes[i], w);
    if (st != DORM_OK) return st;
  }
  *projected += p->attribute_count;
  if (*projected > MAX_PROJECTED)
    return bad(k, "%s.projection: the indexes of a table project at most %d non-key attributes in all", what,
               MAX_PROJECTED);
  return DORM_OK;
}

/* The attribute definitions derived from the keys, deduplicated. */
typedef struct attr_set {
  const char *name[MAX_ATTRS];
  dorm_key_type type[MAX_ATTRS];
  const char *where[MAX_ATTRS]; /* who first used the name, for conflicts */
  char where_buf[MAX_ATTRS][48];
  size_t n;
} attr_set;

static dorm_status attr_add(checker *k, attr_set *s, const dorm_key_attr *key, const char *where) {
  for (size_t i = 0; i < s->n; i++) {
    if (strcmp(s->name[i], key->name) != 0) continue;
    if (s->type[i] == key->type) return DORM_OK;
    return bad(k, "attribute %s is %s in %s but %s in %s", key->name, dorm_key_type_name(s->type[i]), s->where[i],
               dorm_key_type_name(key->type), where);
  }
  if (s->n == MAX_ATTRS) return bad(k, "too many key attributes");
  snprintf(s->where_buf[s->n], sizeof s->where_buf[s->n], "%s", where);
  s->name[s->n] = key->name;
  s->type[s->n] = key->type;
  s->where[s->n] = s->where_buf[s->n];
  s->n++;
  return DORM_OK;
}

static dorm_status check_gsi(checker *k, const dorm_gsi_def *g, const char *what, bool provisioned,
                             size_t *projected) {
  char w[96];
  dorm_status st = check_resource_name(k, g->name, what);
  snprintf(w, sizeof w, "%s.pk", what);
  if (st == DORM_OK) st = check_key(k, &g->pk, w);
  snprintf(w, sizeof w, "%s.sk", what);
  if (st == DORM_OK && g->sk.name) st = check_key(k, &g->sk, w);
  if (st == DORM_OK && g->sk.name && strcmp(g->sk.name, g->pk.name) == 0)
    return bad(k, "%s: the sort key cannot be the partition key (%s)", what, g->pk.name);
  if (st == DORM_OK) st = check_projection(k, &g->projection, what, projected);
  snprintf(w, sizeof w, "%s.throughput", what);
  if (st == DORM_OK) st = check_throughput(k, &g->throughput, provisioned, w);
  return st;
}

static dorm_status check_def(checker *k, const dorm_table_def *d, attr_set *attrs) {
  if (!d) return bad(k, "no table definition");
  dorm_status st = check_resource_name(k, d->name, "name");
  if (st == DORM_OK) st = check_key(k, &d->pk, "pk");
  if (st == DORM_OK && d->sk.name) st = check_key(k, &d->sk, "sk");
  if (st != DORM_OK) return st;
  if (d->sk.name && strcmp(d->sk.name, d->pk.name) == 0)
    return bad(k, "sk: the sort key cannot be the partition key (%s)", d->pk.name);
  if (d->billing != DORM_BILLING_ON_DEMAND && d->billing != DORM_BILLING_PROVISIONED)
    return bad(k, "billing: unknown billing mode %d", (int)d->billing);
  bool prov = d->billing == DORM_BILLING_PROVISIONED;
  if ((st = check_throughput(k, &d->throughput, prov, "throughput")) != DORM_OK) return st;
  if (d->stream < DORM_STREAM_NONE || d->stream > DORM_STREAM_NEW_AND_OLD_IMAGES)
    return bad(k, "stream: unknown stream view type %d", (int)d->stream);
  if (d->gsi_count > MAX_GSIS) return bad(k, "gsis: a table has at most %d global secondary indexes", MAX_GSIS);
  if (d->lsi_count > MAX_LSIS) return bad(k, "lsis: a table has at most %d local secondary indexes", MAX_LSIS);
  if ((d->gsi_count && !d->gsis) || (d->lsi_count && !d->lsis)) return bad(k, "gsis/lsis: NULL array with a count");
  if (d->lsi_count && !d->sk.name) return bad(k, "lsis: local secondary indexes need a table with a sort key");

  attrs->n = 0;
  if ((st = attr_add(k, attrs, &d->pk, "the table's key")) != DORM_OK) return st;
  if (d->sk.name && (st = attr_add(k, attrs, &d->sk, "the table's key")) != DORM_OK) return st;
  size_t projected = 0;
  for (size_t i = 0; i < d->gsi_count; i++) {
    const dorm_gsi_def *g = &d->gsis[i];
    char w[64];
    snprintf(w, sizeof w, "gsis[%zu]", i);
    if ((st = check_gsi(k, g, w, prov, &projected)) != DORM_OK) return st;
    snprintf(w, sizeof w, "gsis[%zu] (%.32s)", i, g->name);
    if ((st = attr_add(k, attrs, &g->pk, w)) != DORM_OK) return st;
    if (g->sk.name && (st = attr_add(k, attrs, &g->sk, w)) != DORM_OK) return st;
  }
  for (size_t i = 0; i < d->lsi_count; i++) {
    const dorm_lsi_def *l = &d->lsis[i];
    char w[96];
    snprintf(w, sizeof w, "lsis[%zu]", i);
    if ((st = check_resource_name(k, l->name, w)) != DORM_OK) return st;
    if ((st = check_projection(k, &l->projection, w, &projected)) != DORM_OK) return st;
    snprintf(w, sizeof w, "lsis[%zu].sk", i);
    if (!l->sk.name) return bad(k, "%s: a local secondary index needs a sort key", w);
    if ((st = check_key(k, &l->sk, w)) != DORM_OK) return st;
    if (strcmp(l->sk.name, d->pk.name) == 0)
      return bad(k, "%s: the sort key cannot be the partition key (%s)", w, d->pk.name);
    snprintf(w, sizeof w, "lsis[%zu] (%.32s)", i, l->name);
    if ((st = attr_add(k, attrs, &l->sk, w)) != DORM_OK) return st;
  }
  /* Index names are unique over GSIs and LSIs. */
  size_t total = d->gsi_count + d->lsi_count;
  for (size_t i = 0; i < total; i++)
    for (size_t j = i + 1; j < total; j++) {
      const char *a = i < d->gsi_count ? d->gsis[i].name : d->lsis[i - d->gsi_count].name;
      const char *b = j < d->gsi_count ? d->gsis[j].name : d->lsis[j - d->gsi_count].name;
      if (strcmp(a, b) == 0) return bad(k, "two indexes are named %s", a);
    }
  return DORM_OK;
}

/* ---- writing ---- */

static void write_attr_defs(dorm_jw *w, const attr_set *s) {
  dorm__jw_key(w, "AttributeDefinitions");
  dorm__jw_begin_array(w);
  for (size_t i = 0; i < s->n; i++) {
    dorm__jw_begin_object(w);
    dorm__jw_member_string(w, "AttributeName", s->name[i]);
    dorm__jw_member_string(w, "AttributeType", dorm_key_type_name(s->type[i]));
    dorm__jw_end_object(w);
  }
  dorm__jw_end_array(w);
}

static void write_key_schema(dorm_jw *w, const char *pk, const char *sk) {
  dorm__jw_key(w, "KeySchema");
  dorm__jw_begin_array(w);
  dorm__jw_begin_object(w);
  dorm__jw_member_string(w, "AttributeName", pk);
  dorm__jw_member_string(w, "KeyType", "HASH");
  dorm__jw_end_object(w);
  if (sk) {
    dorm__jw_begin_object(w);
    dorm__jw_member_string(w, "AttributeName", sk);
    dorm__jw_member_string(w, "KeyType", "RANGE");
    dorm__jw_end_object(w);
  }
  dorm__jw_end_array(w);
}

static void write_projection(dorm_jw *w, const dorm_projection *p) {
  dorm__jw_key(w, "Projection");
  dorm__jw_begin_object(w);
  dorm__jw_member_string(w, "ProjectionType", dorm_projection_type_name(p->type));
  if (p->type == DORM_PROJECT_INCLUDE) {
    dorm__jw_key(w, "NonKeyAttributes");
    dorm__jw_begin_array(w);
    for (size_t i = 0; i < p->attribute_count; i++) dorm__jw_string(w, p->attributes[i]);
    dorm__jw_end_array(w);
  }
  dorm__jw_end_object(w);
}

static void write_throughput(dorm_jw *w, const dorm_throughput *t) {
  dorm__jw_key(w, "ProvisionedThroughput");
  dorm__jw_begin_object(w);
  dorm__jw_member_int(w, "ReadCapacityUnits", t->read);
  dorm__jw_member_int(w, "WriteCapacityUnits", t->write);
  dorm__jw_end_object(w);
}

/* The body of a GSI ({"IndexName":...}) as CreateTable and UpdateTable's
 * Create both take it. */
static void write_gsi(dorm_jw *w, const dorm_gsi_def *g) {
  dorm__jw_begin_object(w);
  dorm__jw_member_string(w, "IndexName", g->name);
  write_key_schema(w, g->pk.name, g->sk.name);
  write_projection(w, &g->projection);
  if (g->throughput.read || g->throughput.write) write_throughput(w, &g->throughput);
  dorm__jw_end_object(w);
}

static void write_stream(dorm_jw *w, dorm_stream_view v) {
  dorm__jw_key(w, "StreamSpecification");
  dorm__jw_begin_object(w);
  dorm__jw_key(w, "StreamEnabled");
  dorm__jw_bool(w, v != DORM_STREAM_NONE);
  if (v != DORM_STREAM_NONE) dorm__jw_member_string(w, "StreamViewType", dorm_stream_view_name(v));
  dorm__jw_end_object(w);
}

static dorm_status writer_result(dorm_jw *w, char *errbuf, size_t errcap) {
  dorm_status st = dorm_jw_status(w);
  if (st != DORM_OK && errbuf && errcap) snprintf(errbuf, errcap, "%s", w->err);
  return st;
}

dorm_status dorm__tables_write_create(dorm_jw *w, const dorm_table_def *d, char *errbuf, size_t errcap) {
  checker k = {errbuf, errcap};
  attr_set *attrs = malloc(sizeof *attrs);
  if (!attrs) return DORM_ERR_NO_MEMORY;
  dorm_status st = check_def(&k, d, attrs);
  if (st != DORM_OK) {
    free(attrs);
    return st;
  }
  dorm__jw_begin_object(w);
  dorm__jw_member_string(w, "TableName", d->name);
  write_attr_defs(w, attrs);
  free(attrs);
  write_key_schema(w, d->pk.name, d->sk.name);
  bool prov = d->billing == DORM_BILLING_PROVISIONED;
  dorm__jw_member_string(w, "BillingMode", dorm_billing_mode_name(d->billing));
  if (prov) write_throughput(w, &d->throughput);
  if (d->gsi_count) {
    dorm__jw_key(w, "GlobalSecondaryIndexes");
    dorm__jw_begin_array(w);
    for (size_t i = 0; i < d->gsi_count; i++) write_gsi(w, &d->gsis[i]);
    dorm__jw_end_array(w);
  }
  if (d->lsi_count) {
    dorm__jw_key(w, "LocalSecondaryIndexes");
    dorm__jw_begin_array(w);
    for (size_t i = 0; i < d->lsi_count; i++) {
      dorm__jw_begin_object(w);
      dorm__jw_member_string(w, "IndexName", d->lsis[i].name);
      write_key_schema(w, d->pk.name, d->lsis[i].sk.name);
      write_projection(w, &d->lsis[i].projection);
      dorm__jw_end_object(w);
    }
    dorm__jw_end_array(w);
  }
  if (d->stream != DORM_STREAM_NONE) write_stream(w, d->stream);
  if (d->deletion_protection) {
    dorm__jw_key(w, "DeletionProtectionEnabled");
    dorm__jw_bool(w, true);
  }
  dorm__jw_end_object(w);
  return writer_result(w, errbuf, errcap);
}

static void write_gsi_update(dorm_jw *w, const char *action, const char *index, const dorm_throughput *t) {
  dorm__jw_begin_object(w);
  dorm__jw_key(w, action);
  dorm__jw_begin_object(w);
  dorm__jw_member_string(w, "IndexName", index);
  if (t) write_throughput(w, t);
  dorm__jw_end_object(w);
  dorm__jw_end_object(w);
}

dorm_status dorm__tables_write_update(dorm_jw *w, const char *table, const dorm_table_change *ch, char *errbuf,
                                size_t errcap) {
  checker k = {errbuf, errcap};
  dorm_status st = check_resource_name(&k, table, "table");
  if (st != DORM_OK) return st;
  if (!ch) return bad(&k, "no change");
  attr_set *attrs = NULL;
  size_t projected = 0;
  switch (ch->kind) {
  case DORM_CHANGE_BILLING: {
    if (ch->billing != DORM_BILLING_ON_DEMAND && ch->billing != DORM_BILLING_PROVISIONED)
      return bad(&k, "billing: unknown billing mode %d", (int)ch->billing);
    bool prov = ch->billing == DORM_BILLING_PROVISIONED;
    if ((st = check_throughput(&k, &ch->throughput, prov, "throughput")) != DORM_OK) return st;
    if (ch->index_throughput_count && (!prov || !ch->index_throughputs))
      return bad(&k, "index_throughputs: only for a switch to provisioned billing");
    for (size_t i = 0; i < ch->index_throughput_count; i++) {
      char what[64];
      snprintf(what, sizeof what, "index_throughputs[%zu]", i);
      if ((st = check_resource_name(&k, ch->index_throughputs[i].index_name, what)) != DORM_OK) return st;
      if ((st = check_throughput(&k, &ch->index_throughputs[i].throughput, true, what)) != DORM_OK) return st;
    }
    break;
  }
  case DORM_CHANGE_STREAM:
    if (ch->stream < DORM_STREAM_NONE || ch->stream > DORM_STREAM_NEW_AND_OLD_IMAGES)
      return bad(&k, "stream: unknown stream view type %d", (int)ch->stream);
    break;
  case DORM_CHANGE_CREATE_GSI: {
    if (!ch->gsi) return bad(&k, "gsi: no index definition");
    bool prov = ch->gsi->throughput.read || ch->gsi->throughput.write;
    if ((st = check_gsi(&k, ch->gsi, "gsi", prov, &projected)) != DORM_OK) return st;
    attrs = malloc(sizeof *attrs);
    if (!attrs) return DORM_ERR_NO_MEMORY;
    attrs->n = 0;
    st = attr_add(&k, attrs, &ch->gsi->pk, "gsi");
    if (st == DORM_OK && ch->gsi->sk.name) st = attr_add(&k, attrs, &ch->gsi->sk, "gsi");
    if (st != DORM_OK) {
      free(attrs);
      return st;
    }
    break;
  }
  case DORM_CHANGE_DELETE_GSI:
    if ((st = check_resource_name(&k, ch->index_name, "index_name")) != DORM_OK) return st;
    break;
  case DORM_CHANGE_GSI_THROUGHPUT:
    if ((st = check_resource_name(&k, ch->index_name, "index_name")) != DORM_OK) return st;
    if ((st = check_throughput(&k, &ch->throughput, true, "throughput")) != DORM_OK) return st;
    break;
  case DORM_CHANGE_DELETION_PROTECTION: break;
  default: return bad(&k, "kind: unknown change %d", (int)ch->kind);
  }

  dorm__jw_begin_object(w);
  dorm__jw_member_string(w, "TableName", table);
  switch (ch->kind) {
  case DORM_CHANGE_BILLING:
    dorm__jw_member_string(w, "BillingMode", dorm_billing_mode_name(ch->billing));
    if (ch->billing == DORM_BILLING_PROVISIONED) write_throughput(w, &ch->throughput);
    if (ch->index_throughput_count) {
      dorm__jw_key(w, "GlobalSecondaryIndexUpdates");
      dorm__jw_begin_array(w);
      for (size_t i = 0; i < ch->index_throughput_count; i++)
        write_gsi_update(w, "Update", ch->index_throughputs[i].index_name, &ch->index_throughputs[i].throughput);
      dorm__jw_end_array(w);
    }
    break;
  case DORM_CHANGE_STREAM: write_stream(w, ch->stream); break;
  case DORM_CHANGE_CREATE_GSI:
    write_attr_defs(w, attrs);
    free(attrs);
    dorm__jw_key(w, "GlobalSecondaryIndexUpdates");
    dorm__jw_begin_array(w);
    dorm__jw_begin_object(w);
    dorm__jw_key(w, "Create");
    write_gsi(w, ch->gsi);
    dorm__jw_end_object(w);
    dorm__jw_end_array(w);
    break;
  case DORM_CHANGE_DELETE_GSI:
  case DORM_CHANGE_GSI_THROUGHPUT:
    dorm__jw_key(w, "GlobalSecondaryIndexUpdates");
    dorm__jw_begin_array(w);
    if (ch->kind == DORM_CHANGE_DELETE_GSI) write_gsi_update(w, "Delete", ch->index_name, NULL);
    else write_gsi_update(w, "Update", ch->index_name, &ch->throughput);
    dorm__jw_end_array(w);
    break;
  case DORM_CHANGE_DELETION_PROTECTION:
    dorm__jw_key(w, "DeletionProtectionEnabled");
    dorm__jw_bool(w, ch->deletion_protection);
    break;
  }
  dorm__jw_end_object(w);
  return writer_result(w, errbuf, errcap);
}

static dorm_status to_arena(dorm_jw *w, dorm_status st, dorm_arena *a, const char **json, size_t *len,
                            char *errbuf, size_t errcap) {
  const char *text = NULL;
  size_t n = 0;
  if (st == DORM_OK) st = dorm__jw_finish(w, &text, &n);
  if (st == DORM_OK) {
    char *copy = dorm_arena_memdup(a, text, n + 1);
    if (!copy) {
      st = DORM_ERR_NO_MEMORY;
      if (errbuf && errcap) snprintf(errbuf, errcap, "out of memory");
    } else {
      if (json) *json = copy;
      if (len) *len = n;
    }
  } else if (errbuf && errcap && !errbuf[0]) {
    snprintf(errbuf, errcap, "%s", w->err[0] ? w->err : "cannot write the request");
  }
  dorm__jw_free(w);
  return st;
}

dorm_status dorm_table_def_json(const dorm_table_def *def, dorm_arena *a, const char **json, size_t *len,
                                char *errbuf, size_t errcap) {
  if (errbuf && errcap) errbuf[0] = '\0';
  if (!a) {
    if (errbuf && errcap) snprintf(errbuf, errcap, "no arena");
    return DORM_ERR_INVALID_ARGUMENT;
  }
  dorm_jw w;
  dorm__jw_init(&w, 0);
  dorm_status st = dorm__tables_write_create(&w, def, errbuf, errcap);
  return to_arena(&w, st, a, json, len, errbuf, errcap);
}

dorm_status dorm_table_change_json(const char *table, const dorm_table_change *change, dorm_arena *a,
                                   const char **json, size_t *len, char *errbuf, size_t errcap) {
  if (errbuf && errcap) errbuf[0] = '\0';
  if (!a) {
    if (errbuf && errcap) snprintf(errbuf, errcap, "no arena");
    return DORM_ERR_INVALID_ARGUMENT;
  }
  dorm_jw w;
  dorm__jw_init(&w, 0);
  dorm_status st = dorm__tables_write_update(&w, table, change, errbuf, errcap);
  return to_arena(&w, st, a, json, len, errbuf, errcap);
}

/* ---- reading descriptions ---- */

typedef struct reader {
  dorm_arena *a;
  char *err;
  size_t cap;
  dorm_status st;
} reader;

/* The reader's first error (status and message) wins. */
#define rfail(r, status, ...) dorm__fail_first(&(r)->st, (r)->err, (r)->cap, (status), __VA_ARGS__)

/* A string member copied into the arena; "" when absent. */
static const char *rstring(reader *r, const cJSON *obj, const char *name) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (!j) return "";
  if (!cJSON_IsString(j)) {
    rfail(r, DORM_ERR_BAD_RESPONSE, "%s is not a string", name);
    return "";
  }
  char *s = dorm_arena_strdup(r->a, j->valuestring);
  if (!s) {
    rfail(r, DORM_ERR_NO_MEMORY, "out of memory");
    return "";
  }
  return s;
}

static int64_t rint64(reader *r, const cJSON *obj, const char *name) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (!j) return 0;
  if (!cJSON_IsNumber(j)) {
    rfail(r, DORM_ERR_BAD_RESPONSE, "%s is not a number", name);
    return 0;
  }
  double v = j->valuedouble;
  return v >= -9.2e18 && v <= 9.2e18 ? (int64_t)v : 0;
}

static bool rbool(reader *r, const cJSON *obj, const char *name) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (!j) return false;
  if (!cJSON_IsBool(j)) {
    rfail(r, DORM_ERR_BAD_RESPONSE, "%s is not a boolean", name);
    return false;
  }
  return cJSON_IsTrue(j);
}

static const cJSON *rarray(reader *r, const cJSON *obj, const char *name) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (j && !cJSON_IsArray(j)) {
    rfail(r, DORM_ERR_BAD_RESPONSE, "%s is not an array", name);
    return NULL;
  }
  return j;
}

static dorm_key_type key_type_from(const char *s) {
  if (strcmp(s, "S") == 0) return DORM_KEY_S;
  if (strcmp(s, "N") == 0) return DORM_KEY_N;
  if (strcmp(s, "B") == 0) return DORM_KEY_B;
  return DORM_KEY_NONE;
}

dorm_table_status dorm__tables_status_from(const char *s) {
  for (int v = DORM_TABLE_CREATING; v <= DORM_TABLE_ARCHIVED; v++)
    if (strcmp(s, dorm_table_status_name((dorm_table_status)v)) == 0) return (dorm_table_status)v;
  return DORM_TABLE_STATUS_UNKNOWN;
}

dorm_index_status dorm__tables_index_status_from(const char *s) {
  static const char *const names[] = {"", "CREATING", "UPDATING", "DELETING", "ACTIVE"};
  for (int v = DORM_INDEX_CREATING; v <= DORM_INDEX_ACTIVE; v++)
    if (strcmp(s, names[v]) == 0) return (dorm_index_status)v;
  return DORM_INDEX_STATUS_UNKNOWN;
}

static dorm_key_type attr_type(const dorm_table_description *d, const char *name) {
  for (size_t i = 0; i < d->attribute_count; i++)
    if (strcmp(d->attributes[i].name, name) == 0) return d->attributes[i].type;
  return DORM_KEY_NONE;
}

static void read_key_schema(reader *r, const cJSON *obj, const dorm_table_description *d, dorm_key_attr *pk,
                            dorm_key_attr *sk) {
  pk->name = sk->name = NULL;
  pk->type = sk->type = DORM_KEY_NONE;
  const cJSON *ks = rarray(r, obj, "KeySchema"), *e;
  cJSON_ArrayForEach(e, ks) {
    const char *name = rstring(r, e, "AttributeName");
    const char *kt = rstring(r, e, "KeyType");
    dorm_key_attr *dst = strcmp(kt, "HASH") == 0 ? pk : strcmp(kt, "RANGE") == 0 ? sk : NULL;
    if (!dst) {
      rfail(r, DORM_ERR_BAD_RESPONSE, "KeySchema: unknown KeyType \"%s\"", kt);
      return;
    }
    dst->name = name;
    dst->type = attr_type(d, name);
  }
}

static void read_throughput(reader *r, const cJSON *obj, dorm_throughput *t) {
  const cJSON *pt = cJSON_GetObjectItemCaseSensitive(obj, "ProvisionedThroughput");
  t->read = rint64(r, pt, "ReadCapacityUnits");
  t->write = rint64(r, pt, "WriteCapacityUnits");
}

static void read_projection(reader *r, const cJSON *obj, dorm_projection *p) {
  memset(p, 0, sizeof *p);
  const cJSON *pj = cJSON_GetObjectItemCaseSensitive(obj, "Projection");
  const char *type = rstring(r, pj, "ProjectionType");
  if (strcmp(type, "KEYS_ONLY") == 0) p->type = DORM_PROJECT_KEYS_ONLY;
  else if (strcmp(type, "INCLUDE") == 0) p->type = DORM_PROJECT_INCLUDE;
  const cJSON *attrs = rarray(r, pj, "NonKeyAttributes");
  size_t n = attrs ? (size_t)cJSON_GetArraySize(attrs) : 0;
  if (!n) return;
  const char **names = dorm_arena_calloc(r->a, n, sizeof *names);
  if (!names) {
    rfail(r, DORM_ERR_NO_MEMORY, "out of memory");
    return;
  }
  size_t i = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, attrs) {
    if (!cJSON_IsString(e)) {
      rfail(r, DORM_ERR_BAD_RESPONSE, "NonKeyAttributes: not a string");
      return;
    }
    names[i++] = dorm_arena_strdup(r->a, e->valuestring);
    if (!names[i - 1]) rfail(r, DORM_ERR_NO_MEMORY, "out of memory");
  }
  p->attributes = names;
  p->attribute_count = n;
}

static void read_indexes(reader *r, const cJSON *td, const char *member, const dorm_table_description *d,
                         bool global, dorm_index_description **out, size_t *count) {
  *out = NULL;
  *count = 0;
  const cJSON *arr = rarray(r, td, member), *e;
  size_t n = arr ? (size_t)cJSON_GetArraySize(arr) : 0;
  if (!n) return;
  dorm_index_description *ix = dorm_arena_calloc(r->a, n, sizeof *ix);
  if (!ix) {
    rfail(r, DORM_ERR_NO_MEMORY, "out of memory");
    return;
  }
  size_t i = 0;
  cJSON_ArrayForEach(e, arr) {
    dorm_index_description *x = &ix[i++];
    x->name = rstring(r, e, "IndexName");
    x->arn = rstring(r, e, "IndexArn");
    read_key_schema(r, e, d, &x->pk, &x->sk);
    read_projection(r, e, &x->projection);
    x->status_text = global ? rstring(r, e, "IndexStatus") : "";
    x->status = dorm__tables_index_status_from(x->status_text);
    x->backfilling = rbool(r, e, "Backfilling");
    if (global) read_throughput(r, e, &x->throughput);
    x->item_count = rint64(r, e, "ItemCount");
    x->size_bytes = rint64(r, e, "IndexSizeBytes");
  }
  *out = ix;
  *count = n;
}

static dorm_stream_view stream_view_from(const char *s) {
  for (int v = DORM_STREAM_KEYS_ONLY; v <= DORM_STREAM_NEW_AND_OLD_IMAGES; v++)
    if (strcmp(s, dorm_stream_view_name((dorm_stream_view)v)) == 0) return (dorm_stream_view)v;
  return DORM_STREAM_NONE;
}

dorm_status dorm__tables_parse_description(const cJSON *td, dorm_arena *a, dorm_table_description *d, char *errbuf,
                                     size_t errcap) {
  reader r = {a, errbuf, errcap, DORM_OK};
  memset(d, 0, sizeof *d);
  if (!cJSON_IsObject(td)) {
    rfail(&r, DORM_ERR_BAD_RESPONSE, "no table description");
    return r.st;
  }
  d->name = rstring(&r, td, "TableName");
  d->arn = rstring(&r, td, "TableArn");
  d->id = rstring(&r, td, "TableId");
  d->status_text = rstring(&r, td, "TableStatus");
  d->status = dorm__tables_status_from(d->status_text);
  const cJSON *created = cJSON_GetObjectItemCaseSensitive(td, "CreationDateTime");
  if (cJSON_IsNumber(created)) d->created = created->valuedouble;
  d->item_count = rint64(&r, td, "ItemCount");
  d->size_bytes = rint64(&r, td, "TableSizeBytes");

  const cJSON *defs = rarray(&r, td, "AttributeDefinitions"), *e;
  size_t n = defs ? (size_t)cJSON_GetArraySize(defs) : 0;
  if (n) {
    d->attributes = dorm_arena_calloc(a, n, sizeof *d->attributes);
    if (!d->attributes) rfail(&r, DORM_ERR_NO_MEMORY, "out of memory");
    else {
      cJSON_ArrayForEach(e, defs) {
        dorm_key_attr *k = &d->attributes[d->attribute_count++];
        k->name = rstring(&r, e, "AttributeName");
        k->type = key_type_from(rstring(&r, e, "AttributeType"));
      }
    }
  }
  read_key_schema(&r, td, d, &d->pk, &d->sk);

  /* A provisioned table may come without BillingModeSummary (it predates
   * on-demand billing): no summary means PROVISIONED. */
  const cJSON *bms = cJSON_GetObjectItemCaseSensitive(td, "BillingModeSummary");
  const char *bm = rstring(&r, bms, "BillingMode");
  d->billing = strcmp(bm, "PAY_PER_REQUEST") == 0 ? DORM_BILLING_ON_DEMAND : DORM_BILLING_PROVISIONED;
  read_throughput(&r, td, &d->throughput);
  if (d->billing == DORM_BILLING_ON_DEMAND) d->throughput.read = d->throughput.write = 0;

  const cJSON *ss = cJSON_GetObjectItemCaseSensitive(td, "StreamSpecification");
  if (rbool(&r, ss, "StreamEnabled")) d->stream = stream_view_from(rstring(&r, ss, "StreamViewType"));
  d->stream_arn = rstring(&r, td, "LatestStreamArn");
  d->stream_label = rstring(&r, td, "LatestStreamLabel");
  d->deletion_protection = rbool(&r, td, "DeletionProtectionEnabled");

  read_indexes(&r, td, "GlobalSecondaryIndexes", d, true, &d->gsis, &d->gsi_count);
  read_indexes(&r, td, "LocalSecondaryIndexes", d, false, &d->lsis, &d->lsi_count);
  if (d->billing == DORM_BILLING_ON_DEMAND)
    for (size_t i = 0; i < d->gsi_count; i++) d->gsis[i].throughput.read = d->gsis[i].throughput.write = 0;
  return r.st;
}
