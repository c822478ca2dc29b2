/* Linked into the Lambda build only (scripts/lambda-package.sh --build):
 * Debian 12's static libexpat calls arc4random_buf, which glibc has only
 * since 2.36, and Amazon Linux 2023 has 2.34. This definition, in the
 * executable, is the one the linker binds expat's call to, so the bootstrap
 * asks for no GLIBC_2.36 symbol. Same contract: n random bytes, never fails. */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

void arc4random_buf(void *buf, size_t n);

void arc4random_buf(void *buf, size_t n) {
  unsigned char *p = buf;
  while (n > 0) {
    ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      abort(); /* the kernel has no randomness to give: as glibc's does */
    }
    p += got;
    n -= (size_t)got;
  }
}
