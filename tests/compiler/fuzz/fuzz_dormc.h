/* The compiler's fuzz logic, shared by the libFuzzer target and the corpus
 * driver that runs it in the normal and sanitizer builds. */
#ifndef DORMC_FUZZ_H
#define DORMC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input through read, parse, check, fmt and DMS export/import,
 * checking their properties (see fuzz_dormc.c). Returns 0; abort()s on a
 * violated property. data is borrowed. */
int dormc_fuzz_one(const uint8_t *data, size_t size);

#endif
