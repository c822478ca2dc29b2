/* gen_infra: the AWS CloudFormation template of a schema (`dormc gen
 * --infra DIR`, docs/streamer.md "On AWS").
 *
 * Plain CloudFormation JSON (no SAM transform): the schema's tables (keys,
 * GSIs and LSIs, stream, TTL, billing; Application Auto Scaling target
 * tracking for provisioned tables and their GSIs) and, when the schema
 * declares endpoints, the streamer around them: its three tables, the
 * WebSocket API ($connect, $disconnect, $default to one function), the
 * stream function fed by the requests table's stream (partial batch
 * responses, bisect, retries, an SQS queue for what still fails), one
 * least-privilege role, log groups with retention, and alarms on the EMF
 * metrics the runtime writes (runtime/src/streamer/lambda.c).
 *
 * Output is a pure function of the schema: no timestamps, keys in a fixed
 * order, tables in schema order.
 */
#ifndef DORMC_GEN_INFRA_H
#define DORMC_GEN_INFRA_H

#include <stddef.h>

#include "dormc_schema.h"

/* The template as malloc'd JSON text (caller frees); 0, or -2 when memory
 * is exhausted. */
int dormc_gen_infra(const dormc_schema *s, char **text, size_t *len);

/* cli_gen_infra.c: `dormc gen --infra DIR SCHEMA` for one schema file;
 * a DORMC_EXIT_* status (diagnostics and I/O errors on stderr). */
int dormc_cli_gen_infra(const char *schema, const char *dir);

#endif
