/* dorm-faultproxy: a loopback HTTP/1.1 proxy that injects DynamoDB-style
 * faults between a client and DynamoDB Local. See usage() and README.md. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plan.h"
#include "proxy.h"

static int wake_pipe[2] = {-1, -1};

static void on_signal(int sig) {
  (void)sig;
  int saved = errno;
  ssize_t n = write(wake_pipe[1], "x", 1);
  (void)n;
  errno = saved;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: dorm-faultproxy --upstream http://HOST:PORT [options] [plan options]\n"
          "\n"
          "  --upstream URL           where requests go (http only, e.g. DynamoDB Local)\n"
          "  --port N                 listen on 127.0.0.1:N (0, the default, picks a free port)\n"
          "  --port-file FILE         write the port there once listening (removed on exit)\n"
          "  --idle-timeout-ms N      close clients idle this long (default 120000)\n"
          "  --upstream-timeout-ms N  answer 504 when the upstream takes longer (default 60000)\n"
          "  --die-with-parent        exit when the process that started us exits\n"
          "  -v, --verbose            one line per request on stderr\n"
          "\n"
          "plan options (also the body of POST /__proxy/plan):\n"
          "  --seed N                 RNG seed (default 1)\n"
          "  --p-500 P  --p-503 P  --p-throttle P  --p-throttling P  --p-validation P\n"
          "                           answer the error without forwarding the request\n"
          "  --p-reset P              reset the connection before forwarding (not applied)\n"
          "  --p-reset-after P        forward (applied), then reset instead of answering\n"
          "  --p-truncate P           forward, then send headers and half the body, close\n"
          "  --p-badcrc P             forward, then corrupt the x-amz-crc32 header\n"
          "  --p-slow P --delay-ms N  delay a request N ms (default 1000) before acting on it\n"
          "  --script LIST            steps in order, e.g. pass,500,slow+reset_after,throttle\n"
          "  --script-mode cycle|once repeat the script (default) or run it once\n"
          "  --only OP[,OP...]        faults only for these X-Amz-Target operations\n"
          "\n"
          "control API on the same port: GET /__proxy/stats, POST /__proxy/stats/reset,\n"
          "GET /__proxy/plan, POST /__proxy/plan (body: plan options). SIGTERM/SIGINT stop it.\n");
}

static int parse_ms(const char *name, const char *v, long *out) {
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (end == v || *end || errno || n < 1 || n > 86400000L) {
    fprintf(stderr, "dorm-faultproxy: %s: expected milliseconds from 1 to 86400000, got '%s'\n", name, v);
    return -1;
  }
  *out = n;
  return 0;
}

/* Resolves "http://HOST:PORT[/]" into cfg->upstream. */
static int parse_upstream(const char *url, fp_config *cfg) {
  const char *p = url;
  if (strncmp(p, "http://", 7) != 0) {
    fprintf(stderr, "dorm-faultproxy: --upstream: expected http://HOST:PORT, got '%s'\n", url);
    return -1;
  }
  p += 7;
  char host[256], port[16];
  const char *hs = p, *he, *ps;
  if (*p == '[') {
    hs = p + 1;
    he = strchr(hs, ']');
    if (!he || he[1] != ':') goto bad;
    ps = he + 2;
  } else {
    he = strchr(p, ':');
    if (!he) goto bad;
    ps = he + 1;
  }
  size_t hl = (size_t)(he - hs);
  const char *pe = ps + strcspn(ps, "/");
  size_t pl = (size_t)(pe - ps);
  if (hl == 0 || hl >= sizeof host || pl == 0 || pl >= sizeof port || strspn(ps, "0123456789") != pl) goto bad;
  if (*pe && strcmp(pe, "/") != 0) goto bad;
  memcpy(host, hs, hl);
  host[hl] = '\0';
  memcpy(port, ps, pl);
  port[pl] = '\0';
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0 || !res) {
    fprintf(stderr, "dorm-faultproxy: --upstream: cannot resolve '%s': %s\n", host, gai_strerror(rc));
    return -1;
  }
  memcpy(&cfg->upstream, res->ai_addr, res->ai_addrlen);
  cfg->upstream_len = res->ai_addrlen;
  freeaddrinfo(res);
  snprintf(cfg->upstream_host, sizeof cfg->upstream_host, "%s:%s", host, port);
  return 0;
bad:
  fprintf(stderr, "dorm-faultproxy: --upstream: expected http://HOST:PORT (no path), got '%s'\n", url);
  return -1;
}

static int open_listener(long port, int *out_port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    perror("dorm-faultproxy: socket");
    return -1;
  }
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((unsigned short)port);
  socklen_t len = sizeof a;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 128) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    fprintf(stderr, "dorm-faultproxy: cannot listen on 127.0.0.1:%ld: %s\n", port, strerror(errno));
    close(fd);
    return -1;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    perror("dorm-faultproxy: fcntl");
    close(fd);
    return -1;
  }
  *out_port = ntohs(a.sin_port);
  return fd;
}

/* Written to a temporary name and renamed, so a reader never sees half a port. */
static int write_port_file(const char *path, int port) {
  size_t n = strlen(path) + 16;
  char *tmp = malloc(n);
  if (!tmp) return -1;
  snprintf(tmp, n, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  int ok = f && fprintf(f, "%d\n", port) > 0;
  if (f && fclose(f) != 0) ok = 0;
  if (ok && rename(tmp, path) != 0) ok = 0;
  if (!ok) {
    fprintf(stderr, "dorm-faultproxy: cannot write port file %s: %s\n", path, strerror(errno));
    unlink(tmp);
  }
  free(tmp);
  return ok ? 0 : -1;
}

int main(int argc, char **argv) {
  fp_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.idle_timeout_ms = 120000;
  cfg.upstream_timeout_ms = 60000;
  fp_plan plan;
  fp_plan_init(&plan);
  const char *upstream = NULL, *port_file = NULL;
  long port = 0;
  char err[512];
  int status = 2;

  for (int i = 1; i < argc; i++) {
    char *name = argv[i], *value = NULL;
    char namebuf[64];
    char *eq = strchr(name, '=');
    if (strncmp(name, "--", 2) == 0 && eq && (size_t)(eq - name) < sizeof namebuf) {
      memcpy(namebuf, name, (size_t)(eq - name));
      namebuf[eq - name] = '\0';
      name = namebuf;
      value = eq + 1;
    }
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
      usage(stdout);
      fp_plan_free(&plan);
      return 0;
    }
    if (strcmp(name, "-v") == 0 || strcmp(name, "--verbose") == 0) {
      cfg.verbose = true;
      continue;
    }
    if (strcmp(name, "--die-with-parent") == 0) {
      cfg.die_with_parent = true;
      continue;
    }
    if (strncmp(name, "--", 2) != 0) {
      fprintf(stderr, "dorm-faultproxy: unexpected argument '%s' (see --help)\n", argv[i]);
      goto out;
    }
    if (!value) {
      if (i + 1 >= argc) {
        fprintf(stderr, "dorm-faultproxy: %s: missing value\n", name);
        goto out;
      }
      value = argv[++i];
    }
    if (strcmp(name, "--upstream") == 0) {
      upstream = value;
    } else if (strcmp(name, "--port-file") == 0) {
      port_file = value;
    } else if (strcmp(name, "--port") == 0) {
      char *end;
      errno = 0;
      port = strtol(value, &end, 10);
      if (end == value || *end || errno || port < 0 || port > 65535) {
        fprintf(stderr, "dorm-faultproxy: --port: expected 0 to 65535, got '%s'\n", value);
        goto out;
      }
    } else if (strcmp(name, "--idle-timeout-ms") == 0) {
      if (parse_ms(name, value, &cfg.idle_timeout_ms) != 0) goto out;
    } else if (strcmp(name, "--upstream-timeout-ms") == 0) {
      if (parse_ms(name, value, &cfg.upstream_timeout_ms) != 0) goto out;
    } else {
      int r = fp_plan_option(&plan, name, value, err, sizeof err);
      if (r == 0) {
        fprintf(stderr, "dorm-faultproxy: unknown option '%s' (see --help)\n", name);
        goto out;
      }
      if (r < 0) {
        fprintf(stderr, "dorm-faultproxy: %s\n", err);
        goto out;
      }
    }
  }
  if (!upstream) {
    fprintf(stderr, "dorm-faultproxy: --upstream is required (see --help)\n");
    goto out;
  }
  if (fp_plan_finish(&plan, err, sizeof err) != 0) {
    fprintf(stderr, "dorm-faultproxy: %s\n", err);
    goto out;
  }
  if (parse_upstream(upstream, &cfg) != 0) goto out;

  status = 1;
  int actual_port = 0;
  cfg.listen_fd = open_listener(port, &actual_port);
  if (cfg.listen_fd < 0) goto out;
  if (pipe(wake_pipe) != 0) {
    perror("dorm-faultproxy: pipe");
    close(cfg.listen_fd);
    goto out;
  }
  for (int k = 0; k < 2; k++) {
    int fl = fcntl(wake_pipe[k], F_GETFL);
    if (fl >= 0) (void)fcntl(wake_pipe[k], F_SETFL, fl | O_NONBLOCK);
    (void)fcntl(wake_pipe[k], F_SETFD, FD_CLOEXEC);
  }
  cfg.wake_fd = wake_pipe[0];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (port_file && write_port_file(port_file, actual_port) != 0) {
    close(cfg.listen_fd);
  } else {
    fprintf(stderr, "dorm-faultproxy: listening on 127.0.0.1:%d, upstream %s\n", actual_port, cfg.upstream_host);
    status = fp_proxy_run(&cfg, &plan);
    close(cfg.listen_fd);
    if (port_file) unlink(port_file);
    if (cfg.verbose) fprintf(stderr, "dorm-faultproxy: stopped\n");
  }
  close(wake_pipe[0]);
  close(wake_pipe[1]);
out:
  fp_plan_free(&plan);
  return status;
}
