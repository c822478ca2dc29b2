#include "endpoints_endpoints.c"
