/* The control API of dorm-faultproxy, served on the proxy's own port under
 * /__proxy/ (never forwarded, never given a fault):
 *
 *   GET  /__proxy/stats        counters as JSON (see fp_stats_json)
 *   POST /__proxy/stats/reset  zero the counters (connections.open is kept)
 *   GET  /__proxy/plan         {"plan":"<the plan as options>"}
 *   POST /__proxy/plan         body: plan options as on the command line;
 *                              replaces the whole plan (unset options take
 *                              their defaults) and restarts its RNG and script.
 *                              400 {"error":"..."} keeps the old plan.
 */
#ifndef FP_CONTROL_H
#define FP_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "plan.h"
#include "proxy.h"

/* True when the request target belongs to the control API. */
bool fp_control_target(const char *target, size_t len);

/* Serves one control request (head req, body of body_len bytes), appending the
 * whole response to out. May replace *plan and change *stats. Returns 0, or -1
 * when out of memory (nothing appended). */
int fp_control(const fp_head *req, const char *body, size_t body_len, fp_plan *plan, fp_stats *stats,
               fp_buf *out, bool close);

#endif
