/* exec_stamp: where a cold start begins, for bench/lambda/cold_start.mjs.
 *   exec_stamp FD COMMAND [ARG...]
 * Writes one line "stamp MONO_NS CPU_NS\n" to the inherited file descriptor
 * FD, closes it, and execs COMMAND in its own place (same pid). MONO_NS is
 * CLOCK_MONOTONIC right before execve (Node's process.hrtime.bigint() reads
 * the same clock on Linux), CPU_NS the CPU time this process has used so
 * far (its single thread's schedstat, the counter the harness later reads
 * from /proc/PID/task/ * /schedstat), so that the harness can subtract what
 * came before the exec: Node's fork of itself (a ~50 MB process), the
 * child's side of it and this launcher's own start. What remains is the
 * runtime's own cold start, from the execve of its binary (the point where
 * Lambda's sandbox starts a bootstrap too) to its first next call.
 * On failure it prints why on stderr and exits 127 (the shell's "not
 * found"), having written no stamp. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: exec_stamp FD COMMAND [ARG...]\n");
    return 127;
  }
  char *end = NULL;
  long fd = strtol(argv[1], &end, 10);
  if (!end || *end || fd < 3 || fd > 1000) {
    fprintf(stderr, "exec_stamp: FD must be an inherited descriptor >= 3, not '%s'\n", argv[1]);
    return 127;
  }
  /* the stamp is taken last, so that nothing of this launcher is counted
   * after it but the write, the close and the execve's own entry */
  char line[96];
  struct timespec cpu, mono;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) != 0 || clock_gettime(CLOCK_MONOTONIC, &mono) != 0) {
    fprintf(stderr, "exec_stamp: clock_gettime: %s\n", strerror(errno));
    return 127;
  }
  int n = snprintf(line, sizeof line, "stamp %lld %lld\n", (long long)mono.tv_sec * 1000000000LL + mono.tv_nsec,
                   (long long)cpu.tv_sec * 1000000000LL + cpu.tv_nsec);
  if (write((int)fd, line, (size_t)n) != n) {
    fprintf(stderr, "exec_stamp: writing to fd %ld: %s\n", fd, strerror(errno));
    return 127;
  }
  close((int)fd); /* the runtime must not inherit it (and the harness sees EOF) */
  execvp(argv[2], argv + 2);
  fprintf(stderr, "exec_stamp: %s: %s\n", argv[2], strerror(errno));
  return 127;
}
