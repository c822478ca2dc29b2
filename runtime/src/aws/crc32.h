/* crc32: the CRC-32 (IEEE 802.3, zlib's crc32) of a response body, which
 * DynamoDB sends as x-amz-crc32. Internal to the aws layer. */
#ifndef DORM_CRC32_H
#define DORM_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* zlib's crc32(0, data, n), computed by libdeflate when the build has it
 * (crc32.c says why), else by zlib. Never fails. */
uint32_t dorm__crc32(const void *data, size_t n);

#endif
