/* crc32: the CRC-32 (IEEE 802.3, zlib's crc32) of a response body, which
 * DynamoDB sends as x-amz-crc32. Internal to the aws layer. */
#ifndef DORM_CRC32_H
#define DORM_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* zlib's crc32(0, data, n). On x86-64 CPUs with PCLMULQDQ it folds 16 bytes
 * per step with carry-less multiplies and needs no tables; elsewhere it is
 * zlib's. Never fails. */
uint32_t dorm__crc32(const void *data, size_t n);

#endif
