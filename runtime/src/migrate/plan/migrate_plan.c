/* plan.json (the steps as data, what deploy applies) and apply.sh (the
 * same steps as a bash script over the AWS CLI, for review and manual use). */
#include <stdio.h>
#include <string.h>

#include "plan_internal.h"

#define PLAN_FORMAT "dorm-plan/1"

static const char *const step_names[] = {NULL,           "create_table", "update_table", "update_billing",
                                         "update_stream", "update_ttl",   "delete_table", "backfill"};

const char *dorm_mig_step_kind_name(dorm_mig_step_kind k) {
  return k >= DORM_MIG_CREATE_TABLE && k <= DORM_MIG_BACKFILL ? step_names[k] : "?";
}

dorm_mig_step_kind dorm_mig_step_kind_from(const char *name) {
  for (int k = DORM_MIG_CREATE_TABLE; name && k <= DORM_MIG_BACKFILL; k++)
    if (strcmp(step_names[k], name) == 0) return (dorm_mig_step_kind)k;
  return (dorm_mig_step_kind)0;
}

static const char *wait_name(dorm_mig_wait w) {
  switch (w) {
  case DORM_MIG_WAIT_TABLE_ACTIVE: return "table_active";
  case DORM_MIG_WAIT_TABLE_DELETED: return "table_deleted";
  default: return "none";
  }
}

static cJSON *step_json(const dorm_mig_step *s, size_t n) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "step", (double)n);
  cJSON_AddStringToObject(o, "kind", dorm_mig_step_kind_name(s->kind));
  cJSON_AddStringToObject(o, "summary", s->summary ? s->summary : "");
  cJSON_AddStringToObject(o, "table", s->table);
  cJSON_AddBoolToObject(o, "destructive", s->destructive);
  switch (s->kind) {
  case DORM_MIG_UPDATE_TABLE:
    cJSON_AddStringToObject(o, "index", s->index);
    cJSON_AddStringToObject(o, "action", s->create_index ? "create" : "delete");
    break;
  case DORM_MIG_UPDATE_BILLING:
    cJSON_AddStringToObject(o, "billing", dorm_billing_mode_name(s->billing));
    if (s->billing == DORM_BILLING_PROVISIONED) {
      cJSON_AddNumberToObject(o, "read_capacity", (double)s->throughput.read);
      cJSON_AddNumberToObject(o, "write_capacity", (double)s->throughput.write);
    }
    break;
  case DORM_MIG_UPDATE_STREAM: cJSON_AddStringToObject(o, "stream", dorm_stream_view_name(s->stream)); break;
  case DORM_MIG_UPDATE_TTL:
    cJSON_AddStringToObject(o, "attribute", s->ttl_attr);
    cJSON_AddBoolToObject(o, "enabled", s->ttl_enabled);
    break;
  case DORM_MIG_BACKFILL: {
    cJSON_AddStringToObject(o, "model", s->model);
    if (s->entity_type) cJSON_AddStringToObject(o, "entity_type", s->entity_type);
    else cJSON_AddNullToObject(o, "entity_type");
    if (s->version_attr) cJSON_AddStringToObject(o, "version_attribute", s->version_attr);
    else cJSON_AddNullToObject(o, "version_attribute");
    cJSON_AddStringToObject(o, "reason", s->reason ? s->reason : "");
    if (s->key_match_count) {
      cJSON *km = cJSON_AddArrayToObject(o, "key_match");
      for (size_t i = 0; i < s->key_match_count; i++) {
        cJSON *k = cJSON_CreateObject();
        cJSON_AddStringToObject(k, "attribute", s->key_match[i].attr);
        cJSON_AddStringToObject(k, s->key_match[i].exact ? "equals" : "begins_with", s->key_match[i].text);
        cJSON_AddItemToArray(km, k);
      }
    }
    cJSON *attrs = cJSON_AddArrayToObject(o, "attributes");
    for (size_t i = 0; i < s->fill_count; i++) {
      cJSON *f = cJSON_CreateObject();
      const dorm_mig_fill *fl = &s->fills[i];
      cJSON_AddStringToObject(f, "attribute", fl->attr);
      dorm__mj_default(f, &fl->dflt);
      if (!fl->dflt.type) {
        cJSON_AddStringToObject(f, "template", fl->template_text ? fl->template_text : "");
        cJSON_AddItemToObject(f, "parts", dorm__mj_parts(fl->parts, fl->part_count));
      }
      cJSON_AddItemToArray(attrs, f);
    }
    break;
  }
  default: break;
  }
  if (s->operation) {
    cJSON_AddStringToObject(o, "operation", s->operation);
    cJSON *req = s->request ? cJSON_Parse(s->request) : NULL;
    cJSON_AddItemToObject(o, "request", req ? req : cJSON_CreateNull());
  }
  cJSON_AddStringToObject(o, "wait", wait_name(s->wait));
  return o;
}

dorm_status dorm_mig_plan_json(const dorm_mig_plan *p, dorm_arena *a, const char **json) {
  cJSON *root = cJSON_CreateObject();
  if (!root) return DORM_ERR_NO_MEMORY;
  cJSON_AddStringToObject(root, "format", PLAN_FORMAT);
  cJSON_AddStringToObject(root, "migration", p->migration ? p->migration : "");
  cJSON *steps = cJSON_AddArrayToObject(root, "steps");
  for (size_t i = 0; i < p->step_count; i++) cJSON_AddItemToArray(steps, step_json(&p->steps[i], i + 1));
  dorm__buf b = DORM__BUF_INIT;
  dorm__mig_json_pretty(&b, root, 0);
  dorm__buf_puts(&b, "\n");
  cJSON_Delete(root);
  *json = dorm__buf_to_arena(&b, a);
  return *json ? DORM_OK : DORM_ERR_NO_MEMORY;
}

static void read_step(mig_reader *r, const cJSON *o, dorm_mig_step *s, size_t n, const char *path) {
  double num = dorm__mr_num(r, o, "step", true, path);
  if (r->status == DORM_OK && num != (double)n) dorm__mr_fail(r, "%s.step: %g where %zu was expected", path, num, n);
  const char *kind = dorm__mr_str(r, o, "kind", true, path);
  s->summary = dorm__mr_str(r, o, "summary", false, path);
  s->table = dorm__mr_str(r, o, "table", true, path);
  s->destructive = dorm__mr_bool(r, o, "destructive", path);
  if (r->status != DORM_OK) return;
  s->kind = dorm_mig_step_kind_from(kind);
  switch (s->kind) {
  case DORM_MIG_CREATE_TABLE:
  case DORM_MIG_DELETE_TABLE: break;
  case DORM_MIG_UPDATE_TABLE: {
    s->index = dorm__mr_str(r, o, "index", true, path);
    const char *action = dorm__mr_str(r, o, "action", true, path);
    if (r->status != DORM_OK) return;
    if (strcmp(action, "create") != 0 && strcmp(action, "delete") != 0)
      dorm__mr_fail(r, "%s.action: \"%s\" is not create or delete", path, action);
    s->create_index = strcmp(action, "create") == 0;
    break;
  }
  case DORM_MIG_UPDATE_BILLING: {
    const char *b = dorm__mr_str(r, o, "billing", true, path);
    if (r->status != DORM_OK) return;
    if (strcmp(b, "PROVISIONED") == 0) {
      s->billing = DORM_BILLING_PROVISIONED;
      s->throughput.read = (int64_t)dorm__mr_num(r, o, "read_capacity", true, path);
      s->throughput.write = (int64_t)dorm__mr_num(r, o, "write_capacity", true, path);
    } else if (strcmp(b, "PAY_PER_REQUEST") == 0) {
      s->billing = DORM_BILLING_ON_DEMAND;
    } else {
      dorm__mr_fail(r, "%s.billing: \"%s\" is not PAY_PER_REQUEST or PROVISIONED", path, b);
    }
    break;
  }
  case DORM_MIG_UPDATE_STREAM: {
    const char *v = dorm__mr_str(r, o, "stream", true, path);
    if (r->status != DORM_OK) return;
    s->stream = dorm__mig_stream_from(v);
    if ((int)s->stream < 0) dorm__mr_fail(r, "%s.stream: unknown stream view \"%s\"", path, v);
    break;
  }
  case DORM_MIG_UPDATE_TTL:
    s->ttl_attr = dorm__mr_str(r, o, "attribute", true, path);
    s->ttl_enabled = dorm__mr_bool(r, o, "enabled", path);
    break;
  case DORM_MIG_BACKFILL: {
    s->model = dorm__mr_str(r, o, "model", true, path);
    s->entity_type = dorm__mr_str(r, o, "entity_type", false, path);
    s->version_attr = dorm__mr_str(r, o, "version_attribute", false, path);
    s->reason = dorm__mr_str(r, o, "reason", false, path);
    const cJSON *km = dorm__mr_arr(r, o, "key_match", false, path);
    if (km && cJSON_GetArraySize(km) > 0) {
      s->key_match_count = (size_t)cJSON_GetArraySize(km);
      s->key_match = dorm_arena_calloc(r->a, s->key_match_count, sizeof *s->key_match);
      if (!s->key_match) {
        r->status = DORM_ERR_NO_MEMORY;
        return;
      }
      size_t i = 0;
      for (const cJSON *e = km->child; e && r->status == DORM_OK; e = e->next, i++) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s.key_match[%zu]", path, i);
        dorm_mig_key_match *k = &s->key_match[i];
        k->attr = dorm__mr_str(r, e, "attribute", true, sub);
        k->text = dorm__mr_str(r, e, "equals", false, sub);
        k->exact = k->text != NULL;
        if (!k->text) k->text = dorm__mr_str(r, e, "begins_with", false, sub);
        if (r->status == DORM_OK && !k->text) dorm__mr_fail(r, "%s: needs \"equals\" or \"begins_with\"", sub);
      }
      if (r->status != DORM_OK) return;
    }
    const cJSON *attrs = dorm__mr_arr(r, o, "attributes", true, path);
    if (!attrs) return;
    size_t nf = (size_t)cJSON_GetArraySize(attrs);
    if (nf == 0) {
      dorm__mr_fail(r, "%s.attributes: empty", path);
      return;
    }
    s->fills = dorm_arena_calloc(r->a, nf, sizeof *s->fills);
    if (!s->fills) {
      r->status = DORM_ERR_NO_MEMORY;
      return;
    }
    s->fill_count = nf;
    size_t i = 0;
    for (const cJSON *e = attrs->child; e && r->status == DORM_OK; e = e->next, i++) {
      char sub[256];
      snprintf(sub, sizeof sub, "%s.attributes[%zu]", path, i);
      s->fills[i].attr = dorm__mr_str(r, e, "attribute", true, sub);
      if (!dorm__mig_default_read(r, e, &s->fills[i].dflt, sub)) break;
      if (s->fills[i].dflt.type) continue;
      s->fills[i].template_text = dorm__mr_str(r, e, "template", false, sub);
      char psub[300];
      snprintf(psub, sizeof psub, "%s.parts", sub);
      dorm__mig_parts_read(r, dorm__mr_arr(r, e, "parts", true, sub), &s->fills[i].parts, &s->fills[i].part_count, psub);
    }
    break;
  }
  default: dorm__mr_fail(r, "%s.kind: unknown step kind \"%s\"", path, kind); return;
  }
  if (s->kind != DORM_MIG_BACKFILL) {
    s->operation = dorm__mr_str(r, o, "operation", true, path);
    const cJSON *req = dorm__mr_obj(r, o, "request", true, path);
    if (req) {
      dorm__buf b = DORM__BUF_INIT;
      dorm__mig_json_compact(&b, req);
      s->request = dorm__buf_to_arena(&b, r->a);
      if (!s->request) r->status = DORM_ERR_NO_MEMORY;
    }
  }
  const char *w = dorm__mr_str(r, o, "wait", true, path);
  if (r->status != DORM_OK) return;
  if (strcmp(w, "table_active") == 0) s->wait = DORM_MIG_WAIT_TABLE_ACTIVE;
  else if (strcmp(w, "table_deleted") == 0) s->wait = DORM_MIG_WAIT_TABLE_DELETED;
  else if (strcmp(w, "none") == 0) s->wait = DORM_MIG_WAIT_NONE;
  else dorm__mr_fail(r, "%s.wait: \"%s\" is not table_active, table_deleted or none", path, w);
}

dorm_status dorm_mig_plan_parse(const char *json, size_t len, dorm_arena *a, dorm_mig_plan *out, char *errbuf,
                                size_t errcap) {
  memset(out, 0, sizeof *out);
  cJSON *root = cJSON_ParseWithLength(json, len);
  if (!root) return dorm__fail(errbuf, errcap, DORM_ERR_BAD_RESPONSE, "plan.json: not valid JSON");
  mig_reader r = {a, errbuf, errcap, DORM_OK, "plan.json"};
  const char *format = dorm__mr_str(&r, root, "format", true, "");
  if (r.status == DORM_OK && strcmp(format, PLAN_FORMAT) != 0)
    dorm__mr_fail(&r, ".format: \"%s\" (this dorm reads %s)", format, PLAN_FORMAT);
  out->migration = dorm__mr_str(&r, root, "migration", true, "");
  const cJSON *steps = dorm__mr_arr(&r, root, "steps", true, "");
  if (r.status == DORM_OK) {
    size_t n = (size_t)cJSON_GetArraySize(steps);
    out->steps = dorm_arena_calloc(a, n ? n : 1, sizeof *out->steps);
    if (!out->steps) r.status = DORM_ERR_NO_MEMORY;
    size_t i = 0;
    for (const cJSON *e = steps->child; e && r.status == DORM_OK; e = e->next, i++) {
      char sub[64];
      snprintf(sub, sizeof sub, ".steps[%zu]", i);
      read_step(&r, e, &out->steps[i], i + 1, sub);
    }
    out->step_count = n;
  }
  cJSON_Delete(root);
  if (r.status != DORM_OK) memset(out, 0, sizeof *out);
  return r.status;
}

/* ---- apply.sh ---- */

/* s inside single quotes: a quote becomes '\'' */
static void sh_quote(dorm__buf *b, const char *s) {
  dorm__buf_put(b, "'", 1);
  for (; *s; s++) {
    if (*s == '\'') dorm__buf_puts(b, "'\\''");
    else dorm__buf_put(b, s, 1);
  }
  dorm__buf_put(b, "'", 1);
}

/* A summary as a comment line: no newlines can break out of it. */
static void sh_comment(dorm__buf *b, const char *s) {
  for (; *s; s++) dorm__buf_put(b, *s == '\n' || *s == '\r' ? " " : s, 1);
}

static void request_arg(dorm__buf *b, const char *request) {
  cJSON *req = cJSON_Parse(request);
  dorm__buf json = DORM__BUF_INIT;
  if (req) dorm__mig_json_pretty(&json, req, 0);
  else dorm__buf_puts(&json, request);
  cJSON_Delete(req);
  dorm__buf_puts(b, " --cli-input-json ");
  sh_quote(b, json.p ? json.p : "{}");
  dorm__buf_free(&json);
}

static const char *const cli_ops[][2] = {{"CreateTable", "create-table"},
                                         {"UpdateTable", "update-table"},
                                         {"UpdateTimeToLive", "update-time-to-live"},
                                         {"DeleteTable", "delete-table"}};

static const char *cli_op(const char *op) {
  for (size_t i = 0; i < sizeof cli_ops / sizeof cli_ops[0]; i++)
    if (strcmp(cli_ops[i][0], op) == 0) return cli_ops[i][1];
  return NULL;
}

dorm_status dorm_mig_plan_script(const dorm_mig_plan *p, dorm_arena *a, const char **text) {
  dorm__buf b = DORM__BUF_INIT;
  dorm__buf_puts(&b, "#!/usr/bin/env bash\n# dorm migration ");
  sh_comment(&b, p->migration ? p->migration : "");
  dorm__buf_puts(&b,
          "\n# Written by `dormc migrate diff` and pinned by dorm.sum: do not edit.\n"
          "#\n"
          "# These are the steps of plan.json, which `dorm migrate deploy` applies (recording\n"
          "# them in its history table), as AWS CLI calls for review or for a manual run:\n"
          "#\n"
          "#   bash apply.sh                                          # AWS (the usual AWS_* settings)\n"
          "#   DORM_ENDPOINT_URL=http://localhost:8000 bash apply.sh  # DynamoDB Local\n"
          "#\n"
          "# DORM_WAIT_SECONDS (default 3600) bounds each wait, DORM_POLL_SECONDS (default 5)\n"
          "# is the pause between polls, and DORM (default: dorm) is the dorm tool that runs\n"
          "# backfill steps.\n"
          "#\n"
          "# Steps:\n");
  if (p->step_count == 0) dorm__buf_puts(&b, "#   (none)\n");
  for (size_t i = 0; i < p->step_count; i++) {
    dorm__buf_printf(&b, "#   %zu. ", i + 1);
    sh_comment(&b, p->steps[i].summary ? p->steps[i].summary : "");
    dorm__buf_puts(&b, p->steps[i].destructive ? " [destructive]\n" : "\n");
  }
  dorm__buf_puts(&b,
          "set -euo pipefail\n");
  bool backfills = false;
  for (size_t i = 0; i < p->step_count; i++) backfills |= p->steps[i].kind == DORM_MIG_BACKFILL;
  if (backfills) dorm__buf_puts(&b, "here=$(cd \"$(dirname \"${BASH_SOURCE[0]}\")\" && pwd)\n");
  dorm__buf_puts(&b,
          "endpoint=()\n"
          "if [ -n \"${DORM_ENDPOINT_URL:-}\" ]; then endpoint=(--endpoint-url \"$DORM_ENDPOINT_URL\"); fi\n"
          "\n"
          "ddb() { aws dynamodb \"$@\" ${endpoint[@]+\"${endpoint[@]}\"}; }\n"
          "\n"
          "# Waits until the table and every one of its GSIs are ACTIVE (not backfilling).\n"
          "wait_active() {\n"
          "  local deadline=$((SECONDS + ${DORM_WAIT_SECONDS:-3600})) state\n"
          "  ddb wait table-exists --table-name \"$1\"\n"
          "  while :; do\n"
          "    state=$(ddb describe-table --table-name \"$1\" --output text --query \\\n"
          "      '[Table.TableStatus, length(Table.GlobalSecondaryIndexes[?IndexStatus!=`\"ACTIVE\"` || "
          "Backfilling==`true`] || `[]`)]')\n"
          "    if [ \"$state\" = \"$(printf 'ACTIVE\\t0')\" ]; then return 0; fi\n"
          "    if [ \"$SECONDS\" -ge \"$deadline\" ]; then\n"
          "      echo \"apply.sh: table $1 is not ready (status, GSIs not active: $state)\" >&2\n"
          "      exit 1\n"
          "    fi\n"
          "    sleep \"${DORM_POLL_SECONDS:-5}\"\n"
          "  done\n"
          "}\n");
  for (size_t i = 0; i < p->step_count; i++) {
    const dorm_mig_step *s = &p->steps[i];
    dorm__buf_printf(&b, "\n# step %zu/%zu: ", i + 1, p->step_count);
    sh_comment(&b, s->summary ? s->summary : "");
    dorm__buf_puts(&b, "\n");
    if (s->kind == DORM_MIG_BACKFILL) {
      dorm__buf_puts(&b, "# ");
      sh_comment(&b, s->reason ? s->reason : "");
      dorm__buf_printf(&b, "; items%s%s", s->entity_type ? " with _type = " : "", s->entity_type ? s->entity_type : "");
      for (size_t k = 0; !s->entity_type && k < s->key_match_count; k++) {
        dorm__buf_printf(&b, "%s %s %s \"", k ? " and" : " whose", s->key_match[k].attr,
                         s->key_match[k].exact ? "=" : "begins with");
        sh_comment(&b, s->key_match[k].text);
        dorm__buf_puts(&b, "\"");
      }
      dorm__buf_puts(&b, " get, by their fields:\n");
      for (size_t k = 0; k < s->fill_count; k++) {
        const dorm_mig_fill *f = &s->fills[k];
        dorm__buf_printf(&b, "#   %s = ", f->attr);
        if (f->dflt.type) {
          /* a new field's default, written only where the attribute is absent */
          bool text = strcmp(f->dflt.type, "S") == 0;
          dorm__buf_puts(&b, text ? "\"" : "");
          sh_comment(&b, f->dflt.value ? f->dflt.value : "");
          dorm__buf_puts(&b, text ? "\" (default, where absent)\n" : " (default, where absent)\n");
          continue;
        }
        dorm__buf_puts(&b, "\"");
        sh_comment(&b, f->template_text ? f->template_text : "");
        dorm__buf_puts(&b, "\"\n");
      }
      dorm__buf_puts(&b, "\"${DORM:-dorm}\" migrate backfill --plan \"$here/plan.json\"");
      dorm__buf_printf(&b, " --step %zu ${endpoint[@]+\"${endpoint[@]}\"}\n", i + 1);
      continue;
    }
    const char *op = s->operation ? cli_op(s->operation) : NULL;
    if (!op || !s->request) {
      dorm__buf_free(&b);
      return DORM_ERR_INVALID_ARGUMENT;
    }
    /* A stream step runs only while the stream lacks the view type the
     * change ends with: disabling a stream that already has it (changed by
     * hand and recorded by this migration) would replace the live stream,
     * and enabling it again would be refused. */
    const dorm_mig_step *next = i + 1 < p->step_count ? &p->steps[i + 1] : NULL;
    const char *view = NULL;
    if (s->kind == DORM_MIG_UPDATE_STREAM && s->stream != DORM_STREAM_NONE) view = dorm_stream_view_name(s->stream);
    else if (s->kind == DORM_MIG_UPDATE_STREAM && next && next->kind == DORM_MIG_UPDATE_STREAM &&
             next->stream != DORM_STREAM_NONE && strcmp(next->table, s->table) == 0)
      view = dorm_stream_view_name(next->stream);
    if (view) {
      dorm__buf_puts(&b, "if [ \"$(ddb describe-table --table-name ");
      sh_quote(&b, s->table);
      dorm__buf_printf(&b, " --output text --query 'Table.StreamSpecification.StreamViewType')\" != %s ]; then\n",
                       view);
    }
    dorm__buf_printf(&b, "ddb %s", op);
    request_arg(&b, s->request);
    dorm__buf_puts(&b, " >/dev/null\n");
    if (s->wait == DORM_MIG_WAIT_TABLE_ACTIVE) {
      dorm__buf_puts(&b, "wait_active ");
      sh_quote(&b, s->table);
      dorm__buf_puts(&b, "\n");
    } else if (s->wait == DORM_MIG_WAIT_TABLE_DELETED) {
      dorm__buf_puts(&b, "ddb wait table-not-exists --table-name ");
      sh_quote(&b, s->table);
      dorm__buf_puts(&b, "\n");
    }
    if (view) dorm__buf_puts(&b, "fi\n");
  }
  dorm__buf_puts(&b, "\necho \"apply.sh: ");
  sh_comment(&b, p->migration ? p->migration : "");
  dorm__buf_printf(&b, ": %zu step%s done\"\n", p->step_count, p->step_count == 1 ? "" : "s");
  *text = dorm__buf_to_arena(&b, a);
  return *text ? DORM_OK : DORM_ERR_NO_MEMORY;
}
