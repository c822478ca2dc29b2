/* The fuzz logic shared by the libFuzzer target and the corpus driver. */
#ifndef FUZZ_FAULTPROXY_H
#define FUZZ_FAULTPROXY_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input; abort()s when a property is violated. */
int fp_fuzz_one(const uint8_t *data, size_t size);

#endif
