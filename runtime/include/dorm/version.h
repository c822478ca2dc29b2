/*
 * dorm/version.h - the version of libdorm.
 *
 * DORM_VERSION_* say which headers a program was compiled with; dorm_version()
 * says which library it runs with (the shared library may be newer). The
 * project's CMakeLists.txt refuses to configure when these disagree with its
 * project() version, so there is one version number.
 */
#ifndef DORM_VERSION_H
#define DORM_VERSION_H

#include "dorm/export.h"

#define DORM_VERSION_MAJOR 0
#define DORM_VERSION_MINOR 1
#define DORM_VERSION_PATCH 0
#define DORM_VERSION_STRING "0.1.0"
/* One number that grows with every release: 0x00MMmmpp. */
#define DORM_VERSION_NUM ((DORM_VERSION_MAJOR << 16) | (DORM_VERSION_MINOR << 8) | DORM_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version text ("0.1.0"), a static string. */
DORM_API const char *dorm_version(void);

#ifdef __cplusplus
}
#endif

#endif
