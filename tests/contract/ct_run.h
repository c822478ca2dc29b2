/* ct_run: running parsed scenarios against DynamoDB through the model
 * layer, one line per step. */
#ifndef CT_RUN_H
#define CT_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <dorm/client.h>

#include "ct_scenario.h"

typedef struct ct_var {
  const char *name;
  bool present;                  /* false: saved from an absent attribute / no cursor */
  dorm_av value;
} ct_var;

typedef struct ct_runner {
  dorm_client *c;
  bool reset_tables;             /* false with --no-reset */
  FILE *out;                     /* step lines and the summary */
  dorm_arena vars_arena;         /* variables (kept across steps of a run) */
  ct_var *vars;
  size_t nvars, cap;
  dorm_arena step_arena;         /* reset after every step */
  size_t passed, failed;
} ct_runner;

/* c is borrowed. */
void ct_runner_init(ct_runner *r, dorm_client *c, bool reset_tables, FILE *out);
void ct_runner_free(ct_runner *r);

/* Resets the scenario's table (unless disabled) and runs its steps,
 * printing "ok  NAME #N op" or "FAIL NAME #N op: why" per step and counting
 * them. Variables start empty for every scenario. Returns 0, or -1 with a
 * message in err when the table could not be reset (nothing was run). */
int ct_run_scenario(ct_runner *r, const ct_scenario *s, char *err, size_t errcap);

/* Deletes the model's table (if any) and creates it again from the
 * descriptor and the DMS projections: its key, every index, on-demand
 * billing, the key and index attributes only; waits until it is ACTIVE. */
int ct_table_reset(dorm_client *c, const ct_model *m, char *err, size_t errcap);

/* ---- shared by ct_run*.c ---- */

typedef struct ct_step_ctx {
  ct_runner *r;
  const ct_scenario *sc;
  const ct_step *s;
  const dorm_model_desc *m;      /* NULL for model-less steps */
  dorm_arena *a;
  char msg[4096];
  size_t len;
  bool failed;
} ct_step_ctx;

/* Adds a failure reason ("; " between several). */
void ct_fail(ct_step_ctx *x, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Checks st against ok / error; true when the result should be checked
 * further (the call succeeded and success was expected). */
bool ct_check_status(ct_step_ctx *x, dorm_status st);

/* The typed item as the model sees it: dorm_model_to_av of obj. With a
 * projection (fields), only the projected attributes. false after ct_fail. */
bool ct_typed_view(ct_step_ctx *x, const void *obj, const uint32_t *fields, size_t nfields, dorm_av *out);

/* Subset match of want against item (label prefixes messages; may be ""). */
void ct_match_item(ct_step_ctx *x, const char *label, const ct_attrvals *want, const dorm_av *item);

/* A cursor literal or "$var": NULL after ct_fail for an unset variable;
 * "" for a variable saved from the last page (no cursor). */
const char *ct_resolve_cursor(ct_step_ctx *x, const char *spec);

/* Stores a variable (value deep-copied; NULL: absent). */
void ct_set_var(ct_step_ctx *x, const char *name, const dorm_av *value);
const ct_var *ct_get_var(ct_runner *r, const char *name);

/* The steps of ct_run_multi.c. */
void ct_step_query(ct_step_ctx *x);
void ct_step_batch_get(ct_step_ctx *x);
void ct_step_batch_write(ct_step_ctx *x);
void ct_step_transact(ct_step_ctx *x);
void ct_step_encode_cursor(ct_step_ctx *x);

#endif
