/* fp_plan: which fault dorm-faultproxy injects into each request.
 *
 * A plan is a seed with per-fault probabilities and/or a script (a list of
 * steps taken in order, cycling or once), plus an optional delay ("slow")
 * and an optional restriction to some X-Amz-Target operations. It is given
 * as command-line options, or as the same options in the body of
 * POST /__proxy/plan:
 *
 *   --seed N              RNG seed (default 1); same seed, same decisions
 *   --p-500 P             500 InternalServerError, not forwarded
 *   --p-503 P             503 ServiceUnavailable, not forwarded
 *   --p-throttle P        400 ProvisionedThroughputExceededException, not forwarded
 *   --p-throttling P      400 ThrottlingException, not forwarded
 *   --p-validation P      400 ValidationException, not forwarded
 *   --p-reset P           connection reset (RST) before forwarding: not applied
 *   --p-reset-after P     forwarded (applied), then RST instead of the response
 *   --p-truncate P        forwarded, headers + half the body, then close
 *   --p-badcrc P          forwarded, x-amz-crc32 header corrupted
 *   --p-slow P            delay the request by --delay-ms before acting on it
 *   --delay-ms N          the delay of a slow step (default 1000)
 *   --script LIST         comma-separated steps: pass, 500, 503, throttle,
 *                         throttling, validation, reset, reset_after, truncate,
 *                         badcrc, slow; "slow+K" is a delay followed by fault K
 *   --script-mode M       cycle (default) or once; after a script run once,
 *                         the probabilities decide
 *   --only OPS            comma-separated operation names (PutItem,...): other
 *                         requests always pass and consume no step or draw
 *
 * Each decision draws two numbers from the RNG (fault, then slow) whether or
 * not they are needed, so changing one probability does not shift the rest
 * of the sequence. Fault probabilities must add up to at most 1.
 */
#ifndef FP_PLAN_H
#define FP_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum fp_fault {
  FP_PASS = 0,
  FP_500,
  FP_503,
  FP_THROTTLE,
  FP_THROTTLING,
  FP_VALIDATION,
  FP_RESET,
  FP_RESET_AFTER,
  FP_TRUNCATE,
  FP_BADCRC,
  FP_FAULT_COUNT
} fp_fault;

typedef struct fp_step {
  fp_fault fault;
  bool slow;
} fp_step;

typedef struct fp_plan {
  uint64_t seed;
  double p[FP_FAULT_COUNT]; /* p[FP_PASS] is unused */
  double p_slow;
  long delay_ms;
  fp_step *script; /* owned */
  size_t script_len;
  bool script_once;
  char **only; /* owned; NULL-free array of only_len names */
  size_t only_len;
  /* Run-time state, reset by fp_plan_finish(). */
  uint64_t rng;
  size_t script_pos;
} fp_plan;

#define FP_MAX_DELAY_MS 600000L
#define FP_MAX_SCRIPT 4096

/* The step name of a fault ("reset_after"); "pass" for FP_PASS. Static. */
const char *fp_fault_name(fp_fault f);

/* Parses a fault name of n bytes. Returns false if unknown. */
bool fp_fault_parse(const char *s, size_t n, fp_fault *out);

/* An empty plan: everything passes, seed 1, delay 1000 ms. */
void fp_plan_init(fp_plan *p);

/* Frees what the plan owns and leaves it empty (fp_plan_init state). */
void fp_plan_free(fp_plan *p);

/* Applies one plan option (name with its leading "--", e.g. "--p-500").
 * Returns 1 when applied, 0 when name is not a plan option (nothing changed),
 * -1 when the value is bad (err says which option and why). */
int fp_plan_option(fp_plan *p, const char *name, const char *value, char *err, size_t errcap);

/* Checks the plan as a whole (probabilities add up to at most 1) and resets
 * its run-time state (RNG from the seed, script position). Returns 0, or -1
 * with a message in err. */
int fp_plan_finish(fp_plan *p, char *err, size_t errcap);

/* Builds a plan from option text as sent to POST /__proxy/plan: options
 * separated by blanks, "--name value" or "--name=value", values may be
 * quoted with '...' or "...". On success *out (initialised here) owns the
 * plan and 0 is returned; on failure *out is left empty and err says why. */
int fp_plan_parse_text(const char *text, size_t len, fp_plan *out, char *err, size_t errcap);

/* True when requests for operation op (op_len bytes, may be empty) are
 * subject to the plan. */
bool fp_plan_applies(const fp_plan *p, const char *op, size_t op_len);

/* The next decision. Advances the RNG and the script. */
fp_step fp_plan_decide(fp_plan *p);

/* The plan as option text that fp_plan_parse_text() reads back to the same
 * plan. malloc'd; NULL when out of memory. */
char *fp_plan_describe(const fp_plan *p);

#endif
