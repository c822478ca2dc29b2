/* streamer-demo: report.dorm's endpoints served locally (docs/streamer.md).
 *   streamer-demo --port 8080 --ddb-endpoint http://127.0.0.1:8000 --create-tables \
 *                 --jwt-hs256-secret-file secret.txt */
#include "report_endpoints.h"

int main(int argc, char **argv) { return dorm_streamer_main(argc, argv, report_endpoints, report_endpoints_count); }
