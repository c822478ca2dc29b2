/* dorm.h: the whole public libdorm API in one include.
 *
 *   #include <dorm/dorm.h>
 *
 * status.h   dorm_status and dorm_strerror
 * arena.h    the caller-owned allocator every result lives in
 * av.h       DynamoDB AttributeValues (dorm_av), items, numbers, JSON
 * expr.h     condition, key condition, filter, update and projection expressions
 * config.h   dorm_config: region, endpoint, credentials, timeouts, retries
 * client.h   dorm_client: the connection, errors, statistics, raw calls
 * ops.h      item operations, Query/Scan, batches and transactions
 * tables.h   table operations, waiters, Time to Live, ListTables
 * model.h    the descriptor-driven model layer under the generated code
 * streams.h  DynamoDB Streams: list, describe, shard iterators, records
 * accounts.h clients for other accounts' roles (STS AssumeRole, cached per role)
 *
 * A new public header is added here when it lands.
 */
#ifndef DORM_DORM_H
#define DORM_DORM_H

#include "dorm/export.h"

#include "dorm/version.h"
#include "dorm/status.h"
#include "dorm/arena.h"
#include "dorm/av.h"
#include "dorm/expr.h"
#include "dorm/config.h"
#include "dorm/client.h"
#include "dorm/pool.h"
#include "dorm/ops.h"
#include "dorm/tables.h"
#include "dorm/model.h"
#include "dorm/streams.h"
#include "dorm/accounts.h"
#include "dorm/crypt.h"

#endif
