#!/usr/bin/env bash
# dorm migration 20260102000000_add_status_index
# Written by `dormc migrate diff` and pinned by dorm.sum: do not edit.
#
# These are the steps of plan.json, which `dorm migrate deploy` applies (recording
# them in its history table), as AWS CLI calls for review or for a manual run:
#
#   bash apply.sh                                          # AWS (the usual AWS_* settings)
#   DORM_ENDPOINT_URL=http://localhost:8000 bash apply.sh  # DynamoDB Local
#
# DORM_WAIT_SECONDS (default 3600) bounds each wait, DORM_POLL_SECONDS (default 5)
# is the pause between polls, and DORM (default: dorm) is the dorm tool that runs
# backfill steps.
#
# Steps:
#   1. create GSI gsi-status on mig_shop (GSI1PK S, GSI1SK S; projection ALL)
#   2. backfill Order items in mig_shop: GSI1PK = "STATUS#{status}", GSI1SK = "{createdAt}#{amount}"
#   3. create GSI gsi-email on mig_users (email S; projection KEYS_ONLY)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
endpoint=()
if [ -n "${DORM_ENDPOINT_URL:-}" ]; then endpoint=(--endpoint-url "$DORM_ENDPOINT_URL"); fi

ddb() { aws dynamodb "$@" ${endpoint[@]+"${endpoint[@]}"}; }

# Waits until the table and every one of its GSIs are ACTIVE (not backfilling).
wait_active() {
  local deadline=$((SECONDS + ${DORM_WAIT_SECONDS:-3600})) state
  ddb wait table-exists --table-name "$1"
  while :; do
    state=$(ddb describe-table --table-name "$1" --output text --query \
      '[Table.TableStatus, length(Table.GlobalSecondaryIndexes[?IndexStatus!=`"ACTIVE"` || Backfilling==`true`] || `[]`)]')
    if [ "$state" = "$(printf 'ACTIVE\t0')" ]; then return 0; fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "apply.sh: table $1 is not ready (status, GSIs not active: $state)" >&2
      exit 1
    fi
    sleep "${DORM_POLL_SECONDS:-5}"
  done
}

# step 1/3: create GSI gsi-status on mig_shop (GSI1PK S, GSI1SK S; projection ALL)
ddb update-table --cli-input-json '{
  "TableName": "mig_shop",
  "AttributeDefinitions": [
    {"AttributeName": "GSI1PK", "AttributeType": "S"},
    {"AttributeName": "GSI1SK", "AttributeType": "S"}
  ],
  "GlobalSecondaryIndexUpdates": [
    {
      "Create": {
        "IndexName": "gsi-status",
        "KeySchema": [
          {"AttributeName": "GSI1PK", "KeyType": "HASH"},
          {"AttributeName": "GSI1SK", "KeyType": "RANGE"}
        ],
        "Projection": {"ProjectionType": "ALL"}
      }
    }
  ]
}' >/dev/null
wait_active 'mig_shop'

# step 2/3: backfill Order items in mig_shop: GSI1PK = "STATUS#{status}", GSI1SK = "{createdAt}#{amount}"
# new index gsi-status; items with _type = Order get, by their fields:
#   GSI1PK = "STATUS#{status}"
#   GSI1SK = "{createdAt}#{amount}"
"${DORM:-dorm}" migrate backfill --plan "$here/plan.json" --step 2 ${endpoint[@]+"${endpoint[@]}"}

# step 3/3: create GSI gsi-email on mig_users (email S; projection KEYS_ONLY)
ddb update-table --cli-input-json '{
  "TableName": "mig_users",
  "AttributeDefinitions": [
    {"AttributeName": "email", "AttributeType": "S"}
  ],
  "GlobalSecondaryIndexUpdates": [
    {
      "Create": {
        "IndexName": "gsi-email",
        "KeySchema": [
          {"AttributeName": "email", "KeyType": "HASH"}
        ],
        "Projection": {"ProjectionType": "KEYS_ONLY"}
      }
    }
  ]
}' >/dev/null
wait_active 'mig_users'

echo "apply.sh: 20260102000000_add_status_index: 3 steps done"
