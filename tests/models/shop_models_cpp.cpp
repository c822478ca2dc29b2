#include "shop_models.c"
