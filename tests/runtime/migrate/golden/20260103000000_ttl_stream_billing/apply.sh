#!/usr/bin/env bash
# dorm migration 20260103000000_ttl_stream_billing
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
#   1. set mig_shop to provisioned billing (read 5, write 5, the same for its GSIs)
#   2. enable the stream of mig_shop (NEW_AND_OLD_IMAGES)
#   3. enable TTL on mig_shop.expiresAt
set -euo pipefail
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

# step 1/3: set mig_shop to provisioned billing (read 5, write 5, the same for its GSIs)
ddb update-table --cli-input-json '{
  "TableName": "mig_shop",
  "BillingMode": "PROVISIONED",
  "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
  "GlobalSecondaryIndexUpdates": [
    {
      "Update": {
        "IndexName": "gsi-status",
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
      }
    }
  ]
}' >/dev/null
wait_active 'mig_shop'

# step 2/3: enable the stream of mig_shop (NEW_AND_OLD_IMAGES)
if [ "$(ddb describe-table --table-name 'mig_shop' --output text --query 'Table.StreamSpecification.StreamViewType')" != NEW_AND_OLD_IMAGES ]; then
ddb update-table --cli-input-json '{
  "TableName": "mig_shop",
  "StreamSpecification": {
    "StreamEnabled": true,
    "StreamViewType": "NEW_AND_OLD_IMAGES"
  }
}' >/dev/null
wait_active 'mig_shop'
fi

# step 3/3: enable TTL on mig_shop.expiresAt
ddb update-time-to-live --cli-input-json '{
  "TableName": "mig_shop",
  "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "expiresAt"}
}' >/dev/null

echo "apply.sh: 20260103000000_ttl_stream_billing: 3 steps done"
