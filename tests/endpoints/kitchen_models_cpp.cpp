#include "kitchen_models.c"
