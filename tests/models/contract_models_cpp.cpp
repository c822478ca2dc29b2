#include "contract_models.c"
