/* Semantic analysis of endpoints, and the C names of everything generated
 * (the scheme is described in dormc_schema.h) with their collisions. */
#include <ctype.h>
#include <string.h>

#include "sema_int.h"

#define DEFAULT_ASYNC_TIMEOUT_MS (15 * 60 * 1000)
#define DEFAULT_SYNC_TIMEOUT_MS (5 * 1000)

/* ---- endpoints --------------------------------------------------------- */

static bool single_block(sema *S, ast_member **slot, ast_member *m) {
  if (*slot) {
    diag_error(S->c, m->kw_loc, "duplicate '%s' in an endpoint", ast_member_kind_name(m->kind));
    diag_note(S->c, (*slot)->kw_loc, "first '%s' here", ast_member_kind_name(m->kind));
    return false;
  }
  *slot = m;
  return true;
}

static const dormc_field *payload(sema *S, ast_member *m, const char *ep, size_t *n) {
  *n = 0;
  if (!m) return NULL;
  const char *where = arena_printf(S->a, "a %s block", ast_member_kind_name(m->kind));
  vec *ms = m->block->members;
  for (size_t i = 0; i < ms->n; i++) {
    ast_member *x = ms->items[i];
    if (x->kind != AST_M_FIELD) sema_not_allowed(S, x, where);
  }
  const char *desc = arena_printf(S->a, "the %s of endpoint '%s'", ast_member_kind_name(m->kind), ep);
  return sema_fields(S, ms, OWNER_PAYLOAD, DORMC_NAMING_CAMEL, desc, n, NULL);
}

void sema_endpoint(sema *S, decl_info *d) {
  ast_item *it = d->item;
  dormc_endpoint *e = d->resolved;
  e->name = d->name;
  e->loc = it->name.loc;
  if (!it->mode.text) {
    diag_error(S->c, it->name.loc, "endpoint '%s' needs a mode: 'endpoint %s sync {' or 'endpoint %s async {'",
               d->name, d->name, d->name);
  } else if (strcmp(it->mode.text, "sync") == 0) {
    e->mode = DORMC_ENDPOINT_SYNC;
  } else if (strcmp(it->mode.text, "async") == 0) {
    e->mode = DORMC_ENDPOINT_ASYNC;
  } else {
    diag_error(S->c, it->mode.loc, "unknown endpoint mode '%s'; use sync or async", it->mode.text);
  }
  /* The protocol's control actions (docs/streamer.md, "Client messages") are
   * routed before endpoints: an endpoint named like one is never reached. */
  static const char *const control_actions[] = {"status", "cancel", "resume", "get_result", "ping"};
  for (size_t i = 0; i < sizeof control_actions / sizeof control_actions[0]; i++)
    if (strcmp(d->name, control_actions[i]) == 0)
      diag_error(S->c, it->name.loc,
                 "endpoint '%s' is named like a control action of the streamer's protocol (status, cancel, "
                 "resume, get_result, ping): no message would reach it; rename it",
                 d->name);
  ast_member *req = NULL, *prog = NULL, *res = NULL, *auth = NULL, *timeout = NULL;
  vec *ms = it->body->members;
  for (size_t i = 0; i < ms->n; i++) {
    ast_member *m = ms->items[i];
    switch (m->kind) {
    case AST_M_REQUEST: single_block(S, &req, m); break;
    case AST_M_PROGRESS: single_block(S, &prog, m); break;
    case AST_M_RESULT: single_block(S, &res, m); break;
    case AST_M_AUTH: single_block(S, &auth, m); break;
    case AST_M_TIMEOUT: single_block(S, &timeout, m); break;
    case AST_M_FIELD:
      diag_error(S->c, m->name.loc,
                 "a field is not allowed directly in an endpoint; put it in a request, progress or result block");
      break;
    default: sema_not_allowed(S, m, "an endpoint"); break;
    }
  }
  e->request = payload(S, req, d->name, &e->nrequest);
  e->progress = payload(S, prog, d->name, &e->nprogress);
  e->has_progress = prog != NULL;
  e->result = payload(S, res, d->name, &e->nresult);
  if (prog && it->mode.text && e->mode == DORMC_ENDPOINT_SYNC) {
    diag_error(S->c, prog->kw_loc, "a sync endpoint has no progress; make '%s' async or remove the progress block",
               d->name);
    diag_note(S->c, it->mode.loc, "'%s' is declared sync here", d->name);
  }
  if (!res && it->mode.text && e->mode == DORMC_ENDPOINT_ASYNC)
    diag_error(S->c, it->name.loc, "async endpoint '%s' has no result block", d->name);
  if (auth) {
    if (strcmp(auth->name.text, "scopes") != 0) {
      diag_error(S->c, auth->name.loc, "unknown auth requirement '%s'; use auth scopes(\"scope\", ...)",
                 auth->name.text);
    } else {
      const char **scopes = arena_alloc(S->a, auth->strs->n * sizeof *scopes);
      for (size_t i = 0; i < auth->strs->n; i++) {
        ast_str *s = auth->strs->items[i];
        if (s->len == 0) diag_error(S->c, s->loc, "an auth scope cannot be empty");
        scopes[i] = s->value;
      }
      e->scopes = scopes;
      e->nscopes = auth->strs->n;
    }
  }
  e->timeout_ms = e->mode == DORMC_ENDPOINT_ASYNC ? DEFAULT_ASYNC_TIMEOUT_MS : DEFAULT_SYNC_TIMEOUT_MS;
  if (timeout) {
    ast_value *v = timeout->value;
    if (v->kind != AST_V_DURATION) {
      diag_error(S->c, v->loc, "a timeout needs a unit: %sms, %ss, %sm or %sh", v->text, v->text, v->text, v->text);
    } else if (v->ms <= 0) {
      diag_error(S->c, v->loc, "a timeout must be longer than zero");
    } else {
      e->timeout_ms = v->ms;
    }
  }
}

/* ---- C names ----------------------------------------------------------- */

static char *upper_snake(sema *S, const char *name) {
  const char *snake = dormc_snake_case(S->a, name);
  char *out = arena_strdup(S->a, snake);
  for (char *p = out; *p; p++) *p = (char)toupper((unsigned char)*p);
  return out;
}

typedef struct cname {
  const char *what; /* "model 'Order'" */
  dormc_loc loc;
} cname;

static void claim(sema *S, symtab *names, const char *name, const char *what, dormc_loc loc) {
  cname *c = arena_alloc(S->a, sizeof *c);
  c->what = what;
  c->loc = loc;
  cname *prev = symtab_put(S->a, names, name, c);
  if (prev) {
    diag_error(S->c, loc, "the generated C name '%s' of %s collides with %s", name, what, prev->what);
    diag_note(S->c, prev->loc, "%s is declared here", prev->what);
  }
}

void sema_c_names(sema *S) {
  const char *p = S->c_prefix;
  char *up = upper_snake(S, p);
  symtab names;
  symtab_init(&names);
  for (size_t i = 0; i < S->order->n; i++) {
    decl_info *d = S->order->items[i];
    const char *cn = arena_printf(S->a, "%s_%s", p, d->name);
    const char *what = arena_printf(S->a, "%s '%s'", ast_item_kind_name(d->kind), d->name);
    claim(S, &names, cn, what, d->item->name.loc);
    switch (d->kind) {
    case AST_I_ENUM: {
      dormc_enum *e = d->resolved;
      e->c_name = cn;
      char *eu = upper_snake(S, d->name);
      for (size_t k = 0; k < e->nmembers; k++) {
        dormc_enum_member *m = (dormc_enum_member *)&e->members[k];
        m->c_name = arena_printf(S->a, "%s_%s_%s", up, eu, upper_snake(S, m->name));
        claim(S, &names, m->c_name, arena_printf(S->a, "enum member '%s.%s'", d->name, m->name), m->loc);
      }
      break;
    }
    case AST_I_STRUCT: ((dormc_struct *)d->resolved)->c_name = cn; break;
    case AST_I_MODEL: ((dormc_model *)d->resolved)->c_name = cn; break;
    case AST_I_ENDPOINT: ((dormc_endpoint *)d->resolved)->c_name = cn; break;
    default: break;
    }
  }
  /* Every declaration reserves "<prefix>_<Name>_" for its generated
   * functions and helper types: another declaration whose name starts with
   * "<Name>_" would generate into that space. */
  for (size_t i = 0; i < S->order->n; i++) {
    decl_info *d = S->order->items[i];
    const char *n = d->name;
    for (const char *u = strchr(n, '_'); u; u = strchr(u + 1, '_')) {
      if (u == n) continue;
      char *head = arena_strndup(S->a, n, (size_t)(u - n));
      decl_info *owner = symtab_get(&S->decls, head);
      if (owner && owner != d) {
        diag_error(S->c, d->item->name.loc,
                   "the generated C name '%s_%s' of %s '%s' falls among the names reserved for %s '%s' ('%s_%s_*')",
                   p, n, ast_item_kind_name(d->kind), n, ast_item_kind_name(owner->kind), owner->name, p,
                   owner->name);
        diag_note(S->c, owner->item->name.loc, "%s '%s' is declared here", ast_item_kind_name(owner->kind),
                  owner->name);
        break;
      }
    }
  }
}
