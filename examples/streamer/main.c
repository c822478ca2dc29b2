/* streamer-demo: report.dorm's endpoints served locally (docs/streamer.md).
 *   streamer-demo --port 8080 --ddb-endpoint http://127.0.0.1:8000 --create-tables \
 *                 --jwt-hs256-secret-file secret.txt
 * with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set (DynamoDB Local takes
 * any: the requests are signed all the same); scripts/streamer-demo.sh does
 * all of it. */
#include "report_endpoints.h"

int main(int argc, char **argv) { return dorm_streamer_main(argc, argv, report_endpoints, report_endpoints_count); }
