#include "kitchen_endpoints.c"
