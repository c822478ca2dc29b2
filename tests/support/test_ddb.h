/* The DynamoDB Local client every integration test starts from. */
#ifndef DORM_TEST_DDB_H
#define DORM_TEST_DDB_H

#include "dorm/client.h"

/* A client for this run's DynamoDB Local (ts_ddb_endpoint()), region
 * us-east-1, the tests' fixed credentials, and instance metadata disabled
 * (nothing may reach 169.254.169.254 from a test). Fails the current cmocka
 * test when there is no endpoint or the client cannot be made. */
dorm_client *ts_ddb_client(void);

#endif
