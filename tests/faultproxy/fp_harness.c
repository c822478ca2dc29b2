#include "fp_harness.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef DORM_FAULTPROXY_PATH
#error "DORM_FAULTPROXY_PATH must name the dorm-faultproxy executable"
#endif

struct fp_harness {
  pid_t pid;
  int port;
  char endpoint[64];
  char dir[256];
  char port_file[300];
};

const char *fp_harness_binary(void) { return DORM_FAULTPROXY_PATH; }

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Splits option text on blanks into argv slots (no quoting: harness options
 * never need it; plans go through the control API, which does quote). */
static int add_words(char **argv, int argc, int max, char *text) {
  for (char *save = NULL, *w = strtok_r(text, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
    if (argc >= max - 1) return -1;
    argv[argc++] = w;
  }
  return argc;
}

typedef struct {
  char *data;
  size_t len;
} body_buf;

static size_t collect(char *p, size_t size, size_t n, void *ud) {
  body_buf *b = ud;
  size_t add = size * n;
  char *d = realloc(b->data, b->len + add + 1);
  if (!d) return 0;
  memcpy(d + b->len, p, add);
  b->len += add;
  d[b->len] = '\0';
  b->data = d;
  return add;
}

/* One control call. Returns the HTTP status (0 on transport failure); *body
 * gets the malloc'd response body (may be NULL). */
static long control(fp_harness *h, const char *method, const char *path, const char *body, char **out) {
  CURL *c = curl_easy_init();
  if (!c) return 0;
  char url[256];
  snprintf(url, sizeof url, "%s%s", h->endpoint, path);
  body_buf b = {0};
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  if (out) *out = b.data;
  else free(b.data);
  return status;
}

fp_harness *fp_harness_start(const char *upstream, const char *plan, const char *extra_args, char *err,
                             size_t errcap) {
  fp_harness *h = calloc(1, sizeof *h);
  char *extra = extra_args ? strdup(extra_args) : NULL;
  if (!h || (extra_args && !extra)) {
    snprintf(err, errcap, "out of memory");
    free(h);
    free(extra);
    return NULL;
  }
  const char *tmp = getenv("TMPDIR");
  snprintf(h->dir, sizeof h->dir, "%s/dorm-fp.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(h->dir)) {
    snprintf(err, errcap, "mkdtemp %s: %s", h->dir, strerror(errno));
    free(h);
    free(extra);
    return NULL;
  }
  snprintf(h->port_file, sizeof h->port_file, "%s/port", h->dir);
  char *argv[64];
  int argc = 0;
  argv[argc++] = (char *)DORM_FAULTPROXY_PATH;
  argv[argc++] = "--upstream";
  argv[argc++] = (char *)upstream;
  argv[argc++] = "--port";
  argv[argc++] = "0";
  argv[argc++] = "--port-file";
  argv[argc++] = h->port_file;
  argv[argc++] = "--die-with-parent";
  const char *verbose = getenv("DORM_FAULTPROXY_VERBOSE");
  if (verbose && *verbose && strcmp(verbose, "0") != 0) argv[argc++] = "-v";
  if (extra && (argc = add_words(argv, argc, 64, extra)) < 0) {
    snprintf(err, errcap, "too many extra arguments");
    goto fail;
  }
  argv[argc] = NULL;
  fflush(NULL);
  h->pid = fork();
  if (h->pid < 0) {
    snprintf(err, errcap, "fork: %s", strerror(errno));
    goto fail;
  }
  if (h->pid == 0) {
    /* The proxy must not hold the test's sockets (a listener the test closes
     * would stay open in the proxy). */
    long maxfd = sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < (maxfd > 0 && maxfd < 65536 ? maxfd : 1024); fd++) close(fd);
    execv(argv[0], argv);
    fprintf(stderr, "fp_harness: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  for (int i = 0; i < 400; i++) { /* 20 s: generous for a loaded sanitizer build */
    FILE *f = fopen(h->port_file, "r");
    if (f) {
      int ok = fscanf(f, "%d", &h->port) == 1;
      fclose(f);
      if (ok && h->port > 0) break;
    }
    int st;
    if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
      snprintf(err, errcap, "dorm-faultproxy exited at start (status %d); see its message above",
               WIFEXITED(st) ? WEXITSTATUS(st) : -1);
      h->pid = -1;
      goto fail;
    }
    sleep_ms(50);
  }
  if (h->port <= 0) {
    snprintf(err, errcap, "dorm-faultproxy did not write %s in time", h->port_file);
    goto fail;
  }
  snprintf(h->endpoint, sizeof h->endpoint, "http://127.0.0.1:%d", h->port);
  free(extra);
  extra = NULL;
  if (plan && *plan && fp_harness_set_plan(h, plan, err, errcap) != 0) goto fail;
  return h;
fail:
  free(extra);
  fp_harness_stop(h);
  return NULL;
}

const char *fp_harness_endpoint(const fp_harness *h) { return h->endpoint; }

int fp_harness_port(const fp_harness *h) { return h->port; }

int fp_harness_set_plan(fp_harness *h, const char *plan, char *err, size_t errcap) {
  char *body = NULL;
  long st = control(h, "POST", "/__proxy/plan", plan ? plan : "", &body);
  int rc = st == 200 ? 0 : -1;
  if (rc != 0 && err && errcap) {
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    snprintf(err, errcap, "plan refused (HTTP %ld): %s", st,
             cJSON_IsString(e) ? e->valuestring : (body ? body : "no response"));
    cJSON_Delete(j);
  }
  free(body);
  return rc;
}

int fp_harness_reset_stats(fp_harness *h) {
  return control(h, "POST", "/__proxy/stats/reset", "", NULL) == 200 ? 0 : -1;
}

char *fp_harness_stats_json(fp_harness *h) {
  char *body = NULL;
  if (control(h, "GET", "/__proxy/stats", NULL, &body) != 200) {
    free(body);
    return NULL;
  }
  return body;
}

long long fp_harness_stat(fp_harness *h, const char *path) {
  char *body = fp_harness_stats_json(h);
  cJSON *root = body ? cJSON_Parse(body) : NULL;
  free(body);
  const cJSON *node = root;
  char key[64];
  const char *p = path;
  while (node && *p) {
    size_t n = strcspn(p, ".");
    if (n >= sizeof key) {
      node = NULL;
      break;
    }
    memcpy(key, p, n);
    key[n] = '\0';
    node = cJSON_GetObjectItemCaseSensitive(node, key);
    p += n;
    if (*p == '.') p++;
  }
  long long v = cJSON_IsNumber(node) ? (long long)node->valuedouble : -1;
  cJSON_Delete(root);
  return v;
}

int fp_harness_stop(fp_harness *h) {
  if (!h) return 0;
  int rc = 0;
  if (h->pid > 0) {
    kill(h->pid, SIGTERM);
    int st = 0;
    bool done = false;
    for (int i = 0; i < 200 && !done; i++) {
      pid_t r = waitpid(h->pid, &st, WNOHANG);
      if (r == h->pid || (r < 0 && errno != EINTR)) done = true;
      else sleep_ms(50);
    }
    if (!done) {
      kill(h->pid, SIGKILL);
      waitpid(h->pid, &st, 0);
      rc = -1;
    } else {
      rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
  }
  unlink(h->port_file);
  rmdir(h->dir);
  free(h);
  return rc;
}
