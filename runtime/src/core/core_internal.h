/* The core layer's boundary (runtime/src/core/): what the layers above may use of
 * the foundations. Core depends on nothing but libc, cJSON and OpenSSL's libcrypto:
 * no network, no client. */
#ifndef DORM_CORE_INTERNAL_H
#define DORM_CORE_INTERNAL_H

#include "base64.h"
#include "buf.h"
#include "civil.h"
#include "json_jt.h" /* the dorm_jt cursor's inline steps (and jsmn's types) for the model layer's token decoder */
#include "json_read.h"
#include "json_write.h"
#include "number.h"
#include "table_json.h"
#include "text.h"
#include "utf8.h"

#endif
