/* dorm-faultproxy must never crash, hang or leak on bad clients or a bad
 * upstream: malformed requests, oversize heads and bodies, clients that vanish
 * at every stage, pipelining, connection floods, idle clients, an upstream that
 * is down, silent, or closes kept-alive connections; and it stops cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fp_harness.h"
#include "fp_testlib.h"
#include "test_support.h"

static const char *ddb;
static fp_harness *fp;
static char table[64];
static char err[512];

static int setup(void **state) {
  (void)state;
  signal(SIGPIPE, SIG_IGN);
  ddb = ts_ddb_endpoint();
  if (!ddb) {
    fprintf(stderr, "no DynamoDB Local endpoint (DORM_TEST_ENDPOINT_FILE)\n");
    return -1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ts_unique_name(table, sizeof table, "fp_robust");
  if (tl_create_table(ddb, table) != 0) return -1;
  fp = fp_harness_start(ddb, NULL, NULL, err, sizeof err);
  if (!fp) {
    fprintf(stderr, "fp_harness_start: %s\n", err);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  int rc = fp_harness_stop(fp);
  curl_global_cleanup();
  if (rc != 0) fprintf(stderr, "dorm-faultproxy exit status %d (expected a clean 0)\n", rc);
  return rc == 0 ? 0 : -1;
}

static void plan(const char *text) {
  if (fp_harness_set_plan(fp, text, err, sizeof err) != 0) fail_msg("%s", err);
  assert_int_equal(fp_harness_reset_stats(fp), 0);
}

/* The proxy still answers a normal request. */
static void assert_alive(void) {
  tl_resp r;
  tl_call1(fp_harness_endpoint(fp), "ListTables", "{}", 0, &r);
  assert_int_equal(r.cc, CURLE_OK);
  assert_int_equal(r.status, 200);
  tl_resp_free(&r);
}

/* Sends raw bytes on a new connection; returns everything until the proxy closes. */
static char *exchange(const void *data, size_t n, int *how) {
  int fd = tl_connect(fp_harness_port(fp));
  assert_true(fd >= 0);
  assert_int_equal(tl_send_all(fd, data, n), 0);
  size_t len;
  char *got = tl_read_until_close(fd, 10000, &len, how);
  close(fd);
  return got;
}

static void expect_refusal(const char *raw, const char *status_line) {
  int how;
  char *got = exchange(raw, strlen(raw), &how);
  assert_non_null(got);
  if (strncmp(got, status_line, strlen(status_line)) != 0) fail_msg("sent %.40s... got '%.80s'", raw, got);
  assert_non_null(strstr(got, "Connection: close"));
  assert_non_null(strstr(got, "\"message\":"));
  assert_int_equal(how, 0); /* closed by the proxy, not left hanging */
  free(got);
}

static void test_malformed_requests_get_4xx_and_close(void **state) {
  (void)state;
  plan("");
  expect_refusal("HELLO\r\n\r\n", "HTTP/1.1 400 ");
  expect_refusal("GET / HTTP/1.1\r\nbad header\r\n\r\n", "HTTP/1.1 400 ");
  expect_refusal("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", "HTTP/1.1 400 ");
  expect_refusal("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 501 ");
  expect_refusal("POST / HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n", "HTTP/1.1 413 ");
  size_t n = 70000;
  char *big = malloc(n + 1);
  memcpy(big, "GET / HTTP/1.1\r\nX-Big: ", 23);
  memset(big + 23, 'a', n - 23);
  big[n] = '\0';
  expect_refusal(big, "HTTP/1.1 431 ");
  free(big);
  char bin[512];
  for (size_t i = 0; i < sizeof bin; i++) bin[i] = (char)(i * 37 + 11);
  bin[0] = 'X';
  memcpy(bin + 200, "\r\n\r\n", 4);
  int how;
  char *got = exchange(bin, sizeof bin, &how);
  assert_memory_equal(got, "HTTP/1.1 400 ", 13);
  free(got);
  assert_int_equal(fp_harness_stat(fp, "bad_requests"), 7);
  assert_int_equal(fp_harness_stat(fp, "requests"), 0);
  assert_alive();
}

static void test_clients_that_vanish(void **state) {
  (void)state;
  plan("");
  int port = fp_harness_port(fp);
  /* Connect and leave; half a head; a head and half a body; with an RST. */
  const char *partial[] = {"", "POST / HTTP/1.1\r\nHost:", "POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"a\":"};
  for (size_t i = 0; i < 3; i++) {
    for (int rst = 0; rst < 2; rst++) {
      int fd = tl_connect(port);
      assert_true(fd >= 0);
      if (*partial[i]) assert_int_equal(tl_send_all(fd, partial[i], strlen(partial[i])), 0);
      if (rst) {
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      }
      close(fd);
    }
  }
  /* A full request, then gone before the (delayed) answer: still applied. */
  plan("--script slow --delay-ms 800");
  char key[64], json[256];
  ts_unique_name(key, sizeof key, "vanish");
  snprintf(json, sizeof json, "{\"TableName\":\"%s\",\"Item\":{\"pk\":{\"S\":\"%s\"}}}", table, key);
  char *req = tl_request_text(port, "PutItem", json);
  long long read0 = fp_harness_stat(fp, "requests");
  int fd = tl_connect(port);
  assert_int_equal(tl_send_all(fd, req, strlen(req)), 0);
  struct linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  /* the RST only once the proxy has read the whole request (a fixed 200 ms
   * was not always enough on a loaded machine: nothing was forwarded) */
  for (int i = 0; i < 500 && fp_harness_stat(fp, "requests") <= read0; i++) tl_sleep_ms(20);
  assert_true(fp_harness_stat(fp, "requests") > read0);
  close(fd);
  free(req);
  long long lost = 0;
  for (int i = 0; i < 100 && lost < 1; i++) {
    tl_sleep_ms(50);
    lost = fp_harness_stat(fp, "responses_lost");
  }
  assert_int_equal(lost, 1);
  assert_true(tl_item_exists(ddb, table, key));
  plan("");
  for (int i = 0; i < 100 && fp_harness_stat(fp, "connections.open") > 1; i++) tl_sleep_ms(20);
  assert_int_equal(fp_harness_stat(fp, "connections.open"), 1); /* only the stats call's own */
  assert_alive();
}

static void test_pipelined_requests_are_answered_in_order(void **state) {
  (void)state;
  plan("--script pass,500,pass");
  int port = fp_harness_port(fp);
  char *one = tl_request_text(port, "ListTables", "{}");
  size_t n1 = strlen(one);
  char *three = malloc(3 * n1 + 1);
  for (int i = 0; i < 3; i++) memcpy(three + i * n1, one, n1);
  three[3 * n1] = '\0';
  int fd = tl_connect(port);
  assert_int_equal(tl_send_all(fd, three, 3 * n1), 0);
  const char *want[] = {"HTTP/1.1 200 ", "HTTP/1.1 500 ", "HTTP/1.1 200 "};
  for (int i = 0; i < 3; i++) {
    size_t len;
    char *r = tl_read_response(fd, 10000, &len);
    assert_non_null(r);
    assert_memory_equal(r, want[i], 13);
    free(r);
  }
  close(fd);
  free(one);
  free(three);

  /* Thousands of pipelined control requests in one write: answered one by
   * one, without unbounded recursion in the proxy. */
  const char get[] = "GET /__proxy/stats HTTP/1.1\r\nHost: x\r\n\r\n";
  enum { N = 3000 };
  size_t gl = sizeof get - 1;
  char *many = malloc(N * gl + 64);
  for (int i = 0; i < N; i++) memcpy(many + i * gl, get, gl);
  const char last[] = "GET /__proxy/stats HTTP/1.1\r\nConnection: close\r\n\r\n";
  memcpy(many + N * gl, last, sizeof last - 1);
  fd = tl_connect(port);
  assert_int_equal(tl_send_all(fd, many, N * gl + sizeof last - 1), 0);
  size_t len;
  int how;
  char *all = tl_read_until_close(fd, 30000, &len, &how);
  assert_int_equal(how, 0);
  int count = 0;
  for (char *p = all; (p = strstr(p, "HTTP/1.1 200 OK")); p++) count++;
  assert_int_equal(count, N + 1);
  free(all);
  free(many);
  close(fd);
  assert_alive();
}

static void test_http10_and_connection_close(void **state) {
  (void)state;
  plan("");
  const char *reqs[] = {"GET /__proxy/stats HTTP/1.0\r\n\r\n", "GET /__proxy/stats HTTP/1.1\r\nConnection: close\r\n\r\n"};
  for (int i = 0; i < 2; i++) {
    int how;
    char *got = exchange(reqs[i], strlen(reqs[i]), &how);
    assert_memory_equal(got, "HTTP/1.1 200 OK", 15);
    assert_int_equal(how, 0);
    free(got);
  }
  /* HTTP/1.0 with keep-alive stays open for a second request. */
  int fd = tl_connect(fp_harness_port(fp));
  const char ka[] = "GET /__proxy/stats HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  for (int i = 0; i < 2; i++) {
    assert_int_equal(tl_send_all(fd, ka, sizeof ka - 1), 0);
    size_t len;
    char *r = tl_read_response(fd, 5000, &len);
    assert_non_null(r);
    free(r);
  }
  close(fd);
}

static void test_connection_flood_is_refused_not_fatal(void **state) {
  (void)state;
  plan("");
  enum { N = 600 };
  int fds[N];
  int opened = 0;
  for (int i = 0; i < N; i++) {
    fds[i] = tl_connect(fp_harness_port(fp));
    if (fds[i] >= 0) opened++;
  }
  assert_true(opened > 512);
  long long rejected = 0;
  for (int i = 0; i < 100 && rejected <= 0; i++) {
    tl_sleep_ms(20);
    /* The stats call itself needs a slot: close one of ours first. */
    if (i == 0) {
      close(fds[0]);
      fds[0] = -1;
      tl_sleep_ms(50);
    }
    rejected = fp_harness_stat(fp, "connections.rejected");
  }
  for (int i = 0; i < N; i++)
    if (fds[i] >= 0) close(fds[i]);
  assert_true(rejected > 0);
  for (int i = 0; i < 100 && fp_harness_stat(fp, "connections.open") > 1; i++) tl_sleep_ms(20);
  assert_alive();
}

static void test_idle_clients_are_closed(void **state) {
  (void)state;
  fp_harness *p = fp_harness_start(ddb, NULL, "--idle-timeout-ms 200", err, sizeof err);
  assert_non_null(p);
  int fd = tl_connect(fp_harness_port(p));
  assert_int_equal(tl_send_all(fd, "GET / HT", 8), 0);
  size_t len;
  int how;
  long long t0 = tl_now_ms();
  char *got = tl_read_until_close(fd, 5000, &len, &how);
  assert_int_equal(how, 0);
  assert_int_equal(len, 0);
  assert_true(tl_now_ms() - t0 < 4000);
  free(got);
  close(fd);
  assert_int_equal(fp_harness_stop(p), 0);
}

/* A listening socket that accepts nothing and answers nothing. */
static int silent_listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t l = sizeof a;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

static void test_upstream_down_or_silent(void **state) {
  (void)state;
  int port;
  int lfd = silent_listener(&port);
  assert_true(lfd >= 0);
  char up[64];
  snprintf(up, sizeof up, "http://127.0.0.1:%d", port);
  fp_harness *p = fp_harness_start(up, NULL, "--upstream-timeout-ms 300", err, sizeof err);
  assert_non_null(p);
  tl_resp r;
  tl_call1(fp_harness_endpoint(p), "ListTables", "{}", 5000, &r);
  assert_int_equal(r.status, 504);
  assert_non_null(strstr(r.body, "GatewayTimeout"));
  assert_non_null(strstr(r.body, "300 ms"));
  tl_resp_free(&r);
  close(lfd); /* now nothing listens there: connection refused */
  tl_call1(fp_harness_endpoint(p), "ListTables", "{}", 5000, &r);
  assert_int_equal(r.status, 502);
  assert_non_null(strstr(r.body, "Connection refused"));
  tl_resp_free(&r);
  /* Injected errors do not need the upstream at all. */
  assert_int_equal(fp_harness_set_plan(p, "--script throttling", err, sizeof err), 0);
  tl_call1(fp_harness_endpoint(p), "ListTables", "{}", 5000, &r);
  assert_int_equal(r.status, 400);
  tl_resp_free(&r);
  assert_int_equal(fp_harness_stat(p, "upstream_errors"), 2);
  assert_int_equal(fp_harness_stop(p), 0);
}

/* A minimal upstream that answers each request and then closes the
 * connection without saying so, as a server dropping idle keep-alive
 * connections does. Serves `serve` connections. */
typedef struct {
  int lfd, serve, accepted;
} closing_upstream;

static void *closing_upstream_main(void *arg) {
  closing_upstream *u = arg;
  for (int i = 0; i < u->serve; i++) {
    int fd = accept(u->lfd, NULL, NULL);
    if (fd < 0) break;
    u->accepted++;
    size_t len;
    char *req = tl_read_response(fd, 5000, &len); /* a request parses the same way */
    free(req);
    const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    tl_send_all(fd, resp, sizeof resp - 1);
    close(fd);
  }
  return NULL;
}

static void test_upstream_closing_kept_alive_connections(void **state) {
  (void)state;
  closing_upstream u = {0};
  int port;
  u.lfd = silent_listener(&port);
  u.serve = 4;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, closing_upstream_main, &u), 0);
  char up[64];
  snprintf(up, sizeof up, "http://127.0.0.1:%d", port);
  fp_harness *p = fp_harness_start(up, NULL, NULL, err, sizeof err);
  assert_non_null(p);
  CURL *h = tl_handle();
  for (int i = 0; i < 4; i++) {
    tl_resp r;
    tl_call(h, fp_harness_endpoint(p), "ListTables", "{}", 5000, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{}");
    if (i > 0) assert_int_equal(r.new_connections, 0); /* the client keeps its connection */
    tl_resp_free(&r);
  }
  curl_easy_cleanup(h);
  pthread_join(t, NULL);
  close(u.lfd);
  assert_int_equal(u.accepted, 4);
  assert_int_equal(fp_harness_stat(p, "upstream_errors"), 0);
  assert_int_equal(fp_harness_stat(p, "passed"), 4);
  assert_int_equal(fp_harness_stop(p), 0);
}

/* Runs the proxy binary with args; returns its exit status and stderr. */
static int run_cli(const char *args, char *out, size_t cap) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", fp_harness_binary(), args);
  FILE *f = popen(cmd, "r");
  assert_non_null(f);
  size_t n = fread(out, 1, cap - 1, f);
  out[n] = '\0';
  int st = pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_command_line_errors(void **state) {
  (void)state;
  char out[4096];
  struct {
    const char *args, *msg;
  } cases[] = {
      {"", "--upstream is required"},
      {"--upstream ftp://x:1", "expected http://HOST:PORT"},
      {"--upstream http://127.0.0.1", "expected http://HOST:PORT"},
      {"--upstream http://127.0.0.1:1/path", "no path"},
      {"--upstream http://127.0.0.1:1 --p-500 2", "--p-500: expected a probability"},
      {"--upstream http://127.0.0.1:1 --p-500 0.7 --p-reset 0.7", "add up to 1.4"},
      {"--upstream http://127.0.0.1:1 --script pass,oops", "step 2 'oops'"},
      {"--upstream http://127.0.0.1:1 --port 70000", "--port: expected 0 to 65535"},
      {"--upstream http://127.0.0.1:1 --idle-timeout-ms 0", "--idle-timeout-ms"},
      {"--upstream http://127.0.0.1:1 --bogus 1", "unknown option '--bogus'"},
      {"--upstream http://127.0.0.1:1 stray", "unexpected argument 'stray'"},
      {"--upstream", "--upstream: missing value"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = run_cli(cases[i].args, out, sizeof out);
    if (rc != 2 || !strstr(out, cases[i].msg)) fail_msg("'%s': exit %d, '%s'", cases[i].args, rc, out);
  }
  assert_int_equal(run_cli("--help", out, sizeof out), 0);
  assert_non_null(strstr(out, "/__proxy/plan"));
}

static void test_sigterm_stops_cleanly_and_removes_port_file(void **state) {
  (void)state;
  char dir[] = "/tmp/dorm-fp-test.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char pf[128];
  snprintf(pf, sizeof pf, "%s/port", dir);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    execl(fp_harness_binary(), fp_harness_binary(), "--upstream", ddb, "--port-file", pf, "--die-with-parent",
          "--script", "slow", "--delay-ms", "5000", (char *)NULL);
    _exit(127);
  }
  int port = 0;
  for (int i = 0; i < 200 && port == 0; i++) {
    FILE *f = fopen(pf, "r");
    if (f) {
      if (fscanf(f, "%d", &port) != 1) port = 0;
      fclose(f);
    }
    if (!port) tl_sleep_ms(50);
  }
  assert_true(port > 0);
  /* Stop it with work in flight: a delayed request and an idle connection. */
  int busy = tl_connect(port), idle = tl_connect(port);
  char *req = tl_request_text(port, "ListTables", "{}");
  assert_int_equal(tl_send_all(busy, req, strlen(req)), 0);
  free(req);
  tl_sleep_ms(100);
  kill(pid, SIGTERM);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  struct stat sb;
  assert_int_not_equal(stat(pf, &sb), 0);
  size_t len;
  int how;
  char *got = tl_read_until_close(busy, 2000, &len, &how);
  assert_int_not_equal(how, 2); /* the client is told, not left hanging */
  free(got);
  close(busy);
  close(idle);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_malformed_requests_get_4xx_and_close),
      cmocka_unit_test(test_clients_that_vanish),
      cmocka_unit_test(test_pipelined_requests_are_answered_in_order),
      cmocka_unit_test(test_http10_and_connection_close),
      cmocka_unit_test(test_connection_flood_is_refused_not_fatal),
      cmocka_unit_test(test_idle_clients_are_closed),
      cmocka_unit_test(test_upstream_down_or_silent),
      cmocka_unit_test(test_upstream_closing_kept_alive_connections),
      cmocka_unit_test(test_command_line_errors),
      cmocka_unit_test(test_sigterm_stops_cleanly_and_removes_port_file),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
