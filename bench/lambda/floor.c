/* The harness's floor (bench/lambda/run.sh): the least a custom runtime can
 * do before its first next call, i.e. connect to AWS_LAMBDA_RUNTIME_API and
 * send the GET, with no library but glibc. cold_start.mjs runs it as a peer
 * so that the cold start figures can be read against what spawning any
 * process costs on this machine. It answers nothing: the harness kills it
 * after the first next (it is measured for the cold start only). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
  char host[64];
  int port = 0;
  if (!api || sscanf(api, "%63[^:]:%d", host, &port) != 2) return 2;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
    return 1;
  static const char req[] = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: runtime\r\n\r\n";
  if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) return 1;
  char buf[4096];
  while (read(fd, buf, sizeof buf) > 0) {
  }
  return 0;
}
