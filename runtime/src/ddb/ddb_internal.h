/* The ddb layer's boundary (runtime/src/ddb/): DynamoDB operations (items, queries,
 * batches, transactions, tables) over the aws layer's client. */
#ifndef DORM_DDB_INTERNAL_H
#define DORM_DDB_INTERNAL_H

#include "aws_internal.h"

#include "ops_common.h"
#include "streams_raw.h"


#endif
