/* dorm-faultproxy's engine: a single-threaded poll() loop that relays HTTP/1.1
 * requests from loopback clients to one upstream (DynamoDB Local) and injects
 * the faults its plan (plan.h) chooses, plus the /__proxy/ control API.
 *
 * Keep-alive on both sides: each client connection gets its own upstream
 * connection, opened on its first forwarded request and reused after.
 * A request received in full is processed even if its client goes away
 * (like a real server); only the response is then lost. A client that closes
 * its side while its request is in progress is taken to have gone away.
 */
#ifndef FP_PROXY_H
#define FP_PROXY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "plan.h"

typedef struct fp_config {
  struct sockaddr_storage upstream; /* resolved upstream address */
  socklen_t upstream_len;
  char upstream_host[300];          /* for messages */
  int listen_fd;                    /* bound and listening, non-blocking */
  int wake_fd;                      /* read end of the signal self-pipe: readable = stop */
  long idle_timeout_ms;             /* close clients idle (or mid-request) this long */
  long upstream_timeout_ms;         /* give up on an upstream exchange: 504 */
  bool verbose;                     /* one stderr line per request */
  bool die_with_parent;             /* exit when the parent process goes away */
} fp_config;

typedef struct fp_stats {
  unsigned long long requests;  /* proxied requests received in full (control excluded) */
  unsigned long long forwarded; /* requests sent to the upstream in full */
  unsigned long long upstream_connects; /* upstream connections opened (keep-alive keeps this low) */
  unsigned long long passed;    /* upstream responses relayed unchanged */
  unsigned long long slow;      /* requests delayed by a slow step */
  unsigned long long injected[FP_FAULT_COUNT]; /* faults carried out ([FP_PASS] unused) */
  unsigned long long upstream_errors; /* 502/504 sent because the upstream failed */
  unsigned long long bad_requests;    /* malformed client requests answered 4xx/5xx and closed */
  unsigned long long responses_lost;  /* responses whose client had gone away */
  unsigned long long control;         /* /__proxy/ requests */
  unsigned long long accepted, rejected; /* connections; rejected: over the limit */
  unsigned long long open;               /* connections open now */
} fp_stats;

/* Runs the proxy until wake_fd becomes readable (or the parent dies when
 * die_with_parent). Takes ownership of *plan (freed on return). Returns 0 on
 * a clean stop, 1 on a fatal error (message on stderr). Closes every client
 * and upstream socket it opened; listen_fd and wake_fd stay the caller's. */
int fp_proxy_run(const fp_config *cfg, fp_plan *plan);

#endif
