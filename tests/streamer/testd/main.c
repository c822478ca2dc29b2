/* streamer-testd: testd.dorm's test-only endpoints served like streamer-demo. */
#include "testd_endpoints.h"

int main(int argc, char **argv) { return dorm_streamer_main(argc, argv, testd_endpoints, testd_endpoints_count); }
