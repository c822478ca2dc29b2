#include "endpoints_models.c"
