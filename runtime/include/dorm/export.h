/*
 * dorm/export.h - which names libdorm exports.
 *
 * libdorm is built with hidden visibility: only declarations marked DORM_API
 * are part of the shared library's interface (libdorm.so.0). Everything else,
 * including the library's internal dorm__ names, stays inside it.
 */
#ifndef DORM_EXPORT_H
#define DORM_EXPORT_H

#if defined(DORM_BUILDING_LIBRARY) && defined(__GNUC__)
#define DORM_API __attribute__((visibility("default")))
#else
#define DORM_API
#endif

#endif
