#include "credentials.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core_internal.h"

extern char **environ;

#define PROCESS_MAX_STDOUT (1024 * 1024)
#define PROCESS_KEEP_STDERR 1024

typedef enum source_kind {
  SRC_EXPLICIT,
  SRC_ENV,
  SRC_PROFILE,
  SRC_PROCESS,
  SRC_CONTAINER,
  SRC_IMDS,
  SRC_ROLE,          /* AssumeRole with another provider's credentials */
  SRC_WEB_IDENTITY,  /* AssumeRoleWithWebIdentity with a token file */
  SRC_SSO            /* IAM Identity Center (sso.c) */
} source_kind;

/* Providers are shared (clones of a client, the roles of dorm_accounts, a
 * role's source) and used from several threads: mu guards cur, have, the
 * generation and the refresh state; what a fetch reads (the source's
 * settings) never changes after creation. */
struct dorm_credentials_provider {
  source_kind kind;
  char desc[320];              /* the source, for messages */
  pthread_mutex_t mu;
  pthread_cond_t cv;           /* signalled when a refresh ends */
  int refs;
  bool refreshing;             /* a thread is fetching (without mu held) */
  dorm_creds_value cur;
  unsigned long generation;    /* bumped whenever cur changes */
  unsigned long fetches;
  bool have;
  time_t no_refresh_before;    /* set after a failed refresh while cur was valid */
  dorm_status fail_status;     /* the last failed refresh, held for DORM_CREDS_FAILURE_HOLD_MS */
  char fail_msg[512];
  long fail_until_ms;
  dorm_creds_value exposed;    /* behind dorm__credentials_provider_get's answer */
  unsigned long exposed_gen;
  dorm_role_source role;
  dorm_sso_source sso;
  char *process_cmd;
  long process_timeout_ms;
  dorm_container_source container;
  dorm_imds_source imds;
  char skipped[512];           /* what the chain looked at before IMDS, for the final error */
  /* What get_copy's lock-free path reads (every request: a mutex's lock and
   * unlock, the provider's lines and time() cost more than the rest of
   * choosing the keys). Written under mu by publish() after every change of
   * cur, have or generation: pub_gen first, then fresh_until, so a reader
   * that sees a new fresh_until (acquire) sees the new generation too. */
  _Atomic unsigned long pub_gen;
  _Atomic int64_t fresh_until; /* cur is fresh while now < this; INT64_MAX: never expires; 0: none */
};

static dorm_status no_memory(char *errbuf, size_t errcap) {
  dorm__set_err(errbuf, errcap, "out of memory while loading credentials");
  return DORM_ERR_NO_MEMORY;
}

void dorm__creds_value_clear(dorm_creds_value *v) {
  free(v->access_key_id);
  dorm__secret_free(v->secret_access_key);
  dorm__secret_free(v->session_token);
  memset(v, 0, sizeof *v);
}

/* ---- parsing ------------------------------------------------------------- */

static int digits(const char **s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)**s)) return -1;
    v = v * 10 + (**s - '0');
    (*s)++;
  }
  return v;
}

bool dorm__creds_parse_time(const char *text, time_t *out) {
  if (!text) return false;
  const char *s = text;
  int y = digits(&s, 4);
  if (y < 0 || *s++ != '-') return false;
  int mo = digits(&s, 2);
  if (mo < 1 || mo > 12 || *s++ != '-') return false;
  int d = digits(&s, 2);
  if (d < 1 || d > 31 || (*s != 'T' && *s != 't' && *s != ' ')) return false;
  s++;
  int h = digits(&s, 2);
  if (h < 0 || h > 23 || *s++ != ':') return false;
  int mi = digits(&s, 2);
  if (mi < 0 || mi > 59 || *s++ != ':') return false;
  int sec = digits(&s, 2);
  if (sec < 0 || sec > 60) return false;
  if (*s == '.') {
    s++;
    if (!isdigit((unsigned char)*s)) return false;
    while (isdigit((unsigned char)*s)) s++;
  }
  long offset = 0;
  if (*s == 'Z' || *s == 'z') {
    s++;
  } else if (*s == '+' || *s == '-') {
    int sign = *s++ == '-' ? -1 : 1;
    int oh = digits(&s, 2);
    if (oh < 0 || oh > 23 || *s++ != ':') return false;
    int om = digits(&s, 2);
    if (om < 0 || om > 59) return false;
    offset = sign * (oh * 3600L + om * 60L);
  } else {
    return false;
  }
  if (*s != '\0') return false;
  /* Days past the month's end and second 60 carry over (timegm's rules). */
  dorm__civil_time t = {y, mo, d, h, mi, sec};
  *out = (time_t)(dorm__civil_to_seconds(&t) - offset);
  return true;
}

static const char *json_string(const cJSON *obj, const char *name) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
  return cJSON_IsString(it) && it->valuestring ? it->valuestring : NULL;
}

dorm_status dorm__creds_parse_json(const char *body, size_t len, dorm_creds_format fmt,
                                  const char *origin, dorm_creds_value *out, char *errbuf,
                                  size_t errcap) {
  memset(out, 0, sizeof *out);
  cJSON *root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
  if (!cJSON_IsObject(root)) {
    /* body need not be NUL-terminated: show at most 80 of its len bytes */
    int shown = body ? (int)(len < 80 ? len : 80) : 0;
    dorm__set_err(errbuf, errcap, "%s: expected a JSON object with AccessKeyId and SecretAccessKey, got '%.*s'",
            origin, shown, body ? body : "");
    cJSON_Delete(root);
    return DORM_ERR_CONFIG;
  }
  dorm_status st = DORM_ERR_CONFIG;
  const char *token_field = fmt == DORM_CREDS_PROCESS ? "SessionToken" : "Token";
  if (fmt == DORM_CREDS_PROCESS) {
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "Version");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != 1.0) {
      dorm__set_err(errbuf, errcap, "%s: \"Version\" must be 1", origin);
      goto done;
    }
  } else {
    const char *code = json_string(root, "Code");
    if (code && strcmp(code, "Success") != 0) {
      const char *msg = json_string(root, "Message");
      dorm__set_err(errbuf, errcap, "%s: answered Code \"%.64s\"%s%.200s", origin, code, msg ? ": " : "",
              msg ? msg : "");
      goto done;
    }
  }
  const char *akid = json_string(root, "AccessKeyId");
  const char *secret = json_string(root, "SecretAccessKey");
  const char *token = json_string(root, token_field);
  const char *exp = json_string(root, "Expiration");
  if (!akid || !*akid || !secret || !*secret) {
    dorm__set_err(errbuf, errcap, "%s: missing %s", origin, !akid || !*akid ? "AccessKeyId" : "SecretAccessKey");
    goto done;
  }
  const cJSON *exp_item = cJSON_GetObjectItemCaseSensitive(root, "Expiration");
  if (exp_item && !cJSON_IsNull(exp_item)) {
    if (!exp || !dorm__creds_parse_time(exp, &out->expiration)) {
      dorm__set_err(errbuf, errcap, "%s: Expiration is not an ISO 8601 time such as 2024-01-01T00:00:00Z", origin);
      goto done;
    }
  }
  out->access_key_id = strdup(akid);
  out->secret_access_key = strdup(secret);
  out->session_token = token && *token ? strdup(token) : NULL;
  if (!out->access_key_id || !out->secret_access_key || (token && *token && !out->session_token)) {
    st = no_memory(errbuf, errcap);
    goto done;
  }
  st = DORM_OK;
done:
  if (st != DORM_OK) dorm__creds_value_clear(out);
  cJSON_Delete(root);
  return st;
}

/* ---- credential_process ---------------------------------------------------- */

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

typedef struct proc_result {
  dorm__buf out; /* stdout, bounded at PROCESS_MAX_STDOUT; holds credentials */
  char err[PROCESS_KEEP_STDERR + 1];
  size_t err_len;
  int wait_status;
  bool timed_out;
  bool too_much_output;
} proc_result;

static void set_cloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static void kill_group(pid_t pid) {
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
}

/* Runs cmd under /bin/sh -c. The command string is passed as one argument
 * and nothing is spliced into it, so the shell sees exactly what the user
 * wrote. The child gets its own process group so that a timeout kills
 * everything it started. */
static dorm_status run_process(const char *cmd, long timeout_ms, proc_result *r, char *errbuf,
                               size_t errcap) {
  memset(r, 0, sizeof *r);
  dorm__buf_init(&r->out, PROCESS_MAX_STDOUT);
  int outp[2], errp[2];
  if (pipe(outp) != 0) {
    dorm__set_err(errbuf, errcap, "credential_process: pipe: %s", strerror(errno));
    return DORM_ERR_IO;
  }
  if (pipe(errp) != 0) {
    dorm__set_err(errbuf, errcap, "credential_process: pipe: %s", strerror(errno));
    close(outp[0]);
    close(outp[1]);
    return DORM_ERR_IO;
  }
  for (int i = 0; i < 2; i++) {
    set_cloexec(outp[i]);
    set_cloexec(errp[i]);
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
  posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
  sigset_t none, dflt;
  sigemptyset(&none);
  sigemptyset(&dflt);
  sigaddset(&dflt, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &dflt);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(outp[1]);
  close(errp[1]);
  if (rc != 0) {
    close(outp[0]);
    close(errp[0]);
    dorm__set_err(errbuf, errcap, "credential_process: cannot start /bin/sh: %s", strerror(rc));
    return DORM_ERR_IO;
  }

  long deadline = now_ms() + timeout_ms;
  int fds_open = 2;
  struct pollfd pfd[2] = {{.fd = outp[0], .events = POLLIN}, {.fd = errp[0], .events = POLLIN}};
  dorm_status st = DORM_OK;
  while (fds_open > 0) {
    long left = deadline - now_ms();
    if (left <= 0) { r->timed_out = true; break; }
    int n = poll(pfd, 2, (int)(left > 1000 ? 1000 : left));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2 && n > 0; i++) {
      if (pfd[i].fd < 0 || !pfd[i].revents) continue;
      char buf[4096];
      ssize_t got = read(pfd[i].fd, buf, sizeof buf);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {
        close(pfd[i].fd);
        pfd[i].fd = -1;
        fds_open--;
        continue;
      }
      if (i == 0) {
        if (!dorm__buf_put(&r->out, buf, (size_t)got)) {
          if (r->out.overflow) r->too_much_output = true;
          else st = DORM_ERR_NO_MEMORY;
          break;
        }
      } else {
        size_t keep = PROCESS_KEEP_STDERR - r->err_len;
        if ((size_t)got < keep) keep = (size_t)got;
        memcpy(r->err + r->err_len, buf, keep);
        r->err_len += keep;
        r->err[r->err_len] = '\0';
      }
    }
    if (r->too_much_output || st != DORM_OK) break;
  }
  for (int i = 0; i < 2; i++)
    if (pfd[i].fd >= 0) close(pfd[i].fd);
  if (r->timed_out || r->too_much_output || st != DORM_OK) kill_group(pid);
  /* The shell may have closed its output and still be running. */
  for (;;) {
    pid_t w = waitpid(pid, &r->wait_status, r->timed_out ? 0 : WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (w == 0) {
      if (now_ms() >= deadline) {
        r->timed_out = true;
        kill_group(pid);
        continue;
      }
      struct timespec ts = {0, 5 * 1000000L};
      nanosleep(&ts, NULL);
    }
  }
  if (st == DORM_ERR_NO_MEMORY) {
    dorm__buf_wipe(&r->out);
    return no_memory(errbuf, errcap);
  }
  return DORM_OK;
}

/* The last non-blank line(s) of stderr, on one line, for an error message. */
static void tidy_stderr(char *s) {
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  for (size_t i = 0; i < n; i++)
    if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t') s[i] = ' ';
}

static dorm_status fetch_process(dorm_credentials_provider *p, dorm_creds_value *out, char *errbuf,
                                 size_t errcap) {
  proc_result r;
  dorm_status st = run_process(p->process_cmd, p->process_timeout_ms, &r, errbuf, errcap);
  if (st != DORM_OK) return st;
  tidy_stderr(r.err);
  if (r.timed_out) {
    dorm__set_err(errbuf, errcap, "%s did not finish within %ld ms (killed)", p->desc, p->process_timeout_ms);
    st = DORM_ERR_IO;
  } else if (r.too_much_output) {
    dorm__set_err(errbuf, errcap, "%s printed more than %d bytes (killed)", p->desc, PROCESS_MAX_STDOUT);
    st = DORM_ERR_IO;
  } else if (WIFSIGNALED(r.wait_status)) {
    dorm__set_err(errbuf, errcap, "%s was killed by signal %d%s%s", p->desc, WTERMSIG(r.wait_status),
            r.err[0] ? ": " : "", r.err);
    st = DORM_ERR_IO;
  } else if (!WIFEXITED(r.wait_status) || WEXITSTATUS(r.wait_status) != 0) {
    dorm__set_err(errbuf, errcap, "%s exited with status %d%s%s", p->desc,
            WIFEXITED(r.wait_status) ? WEXITSTATUS(r.wait_status) : -1, ": ",
            r.err[0] ? r.err : "(no output on stderr)");
    st = DORM_ERR_IO;
  } else {
    st = dorm__creds_parse_json(dorm__buf_text(&r.out), r.out.len, DORM_CREDS_PROCESS, p->desc, out,
                               errbuf, errcap);
  }
  dorm__buf_wipe(&r.out);
  return st;
}

/* ---- choosing the source -------------------------------------------------- */

static void publish(dorm_credentials_provider *p);

static dorm_status set_static(dorm_credentials_provider *p, const char *id, const char *secret,
                              const char *token, char *errbuf, size_t errcap) {
  p->cur.access_key_id = strdup(id);
  p->cur.secret_access_key = strdup(secret);
  p->cur.session_token = token && *token ? strdup(token) : NULL;
  if (!p->cur.access_key_id || !p->cur.secret_access_key || (token && *token && !p->cur.session_token))
    return no_memory(errbuf, errcap);
  p->have = true;
  p->generation = 1;
  publish(p);
  return DORM_OK;
}

/* ---- profiles: static keys, credential_process, roles, web identity, SSO ---- */

static dorm_status choose_container(dorm_credentials_provider *p, const dorm_resolved_config *rc,
                                    bool *chosen, char *errbuf, size_t errcap);
static dorm_status choose_imds(dorm_credentials_provider *p, const dorm_resolved_config *rc,
                               bool *chosen, char *errbuf, size_t errcap);

static dorm_credentials_provider *provider_alloc(void) {
  dorm_credentials_provider *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  p->refs = 1;
  return p;
}

/* rc seen as if `name` were the active profile: the lookups of config.c
 * then read that profile's sections. */
static dorm_resolved_config view_of(const dorm_resolved_config *rc, const char *name) {
  dorm_resolved_config v = *rc;
  v.profile = (char *)name;
  return v;
}

#define MAX_CHAIN 16

typedef struct profile_chain {
  const char *names[MAX_CHAIN]; /* the profiles being resolved, outermost first */
  int n;
} profile_chain;

static void chain_text(const profile_chain *ch, const char *last, char *out, size_t cap) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < ch->n && used + 1 < cap; i++)
    used += (size_t)snprintf(out + used, cap - used, "%s -> ", ch->names[i]);
  if (used + 1 < cap) snprintf(out + used, cap - used, "%s", last);
}

/* aws_access_key_id + aws_secret_access_key of the profile (view). */
static dorm_status profile_static(dorm_credentials_provider *p, const dorm_resolved_config *view,
                                  bool *chosen, char *errbuf, size_t errcap) {
  char w_id[256] = "", w_secret[256] = "";
  const char *id = dorm__config_profile_value(view, "aws_access_key_id", w_id, sizeof w_id);
  const char *secret = dorm__config_profile_value(view, "aws_secret_access_key", w_secret, sizeof w_secret);
  if (!id && !secret) return DORM_OK;
  if (!id || !secret) {
    dorm__set_err(errbuf, errcap, "%s: profile '%s' has %s but no %s", id ? w_id : w_secret, view->profile,
            id ? "aws_access_key_id" : "aws_secret_access_key",
            id ? "aws_secret_access_key" : "aws_access_key_id");
    return DORM_ERR_CONFIG;
  }
  p->kind = SRC_PROFILE;
  snprintf(p->desc, sizeof p->desc, "profile '%s' (%s)", view->profile, w_id);
  *chosen = true;
  return set_static(p, id, secret, dorm__config_profile_value(view, "aws_session_token", NULL, 0),
                    errbuf, errcap);
}

static dorm_status profile_process(dorm_credentials_provider *p, const dorm_resolved_config *view,
                                   bool *chosen, char *errbuf, size_t errcap) {
  char w_proc[256] = "";
  const char *cmd = dorm__config_profile_value(view, "credential_process", w_proc, sizeof w_proc);
  if (!cmd) return DORM_OK;
  p->kind = SRC_PROCESS;
  snprintf(p->desc, sizeof p->desc, "credential_process of profile '%s' (%s)", view->profile, w_proc);
  p->process_cmd = strdup(cmd);
  p->process_timeout_ms = view->credential_process_timeout_ms > 0 ? view->credential_process_timeout_ms
                                                                   : DORM_DEFAULT_PROCESS_TIMEOUT_MS;
  *chosen = true;
  return p->process_cmd ? DORM_OK : no_memory(errbuf, errcap);
}

static dorm_status profile_sso(dorm_credentials_provider *p, const dorm_resolved_config *view, bool *chosen,
                               char *errbuf, size_t errcap) {
  dorm_status st = dorm__sso_source_init(view, &p->sso, chosen, errbuf, errcap);
  if (st != DORM_OK || !*chosen) return st;
  p->kind = SRC_SSO;
  snprintf(p->desc, sizeof p->desc, "SSO profile '%s' (account %.20s, role %.64s)", view->profile,
           p->sso.account_id, p->sso.role_name);
  return DORM_OK;
}

/* The settings every role shares: session name, external id, duration, STS
 * endpoint. view is the profile that names the role (NULL: environment). */
static dorm_status role_settings(dorm_role_source *r, const dorm_resolved_config *rc,
                                 const dorm_resolved_config *view, const char *env_session,
                                 char *errbuf, size_t errcap) {
  char where[256] = "";
  const char *name = env_session;
  const char *origin = "AWS_ROLE_SESSION_NAME";
  if (!name && view && (name = dorm__config_profile_value(view, "role_session_name", where, sizeof where)))
    origin = where;
  char deflt[48];
  if (!name) {
    /* The SDKs make one up from the time, so do we. */
    snprintf(deflt, sizeof deflt, "dorm-session-%lld", (long long)time(NULL));
    name = deflt;
  } else {
    dorm_status st = dorm__sts_check_session_name(name, origin, errbuf, errcap);
    if (st != DORM_OK) return st;
  }
  if (!(r->session_name = strdup(name))) return no_memory(errbuf, errcap);
  if (view && !r->token_file) {
    const char *ext = dorm__config_profile_value(view, "external_id", NULL, 0);
    if (ext && !(r->external_id = strdup(ext))) return no_memory(errbuf, errcap);
  }
  const char *dur = view ? dorm__config_profile_value(view, "duration_seconds", where, sizeof where) : NULL;
  if (dur) {
    dorm_status st = dorm__sts_parse_duration(dur, where, &r->duration_s, errbuf, errcap);
    if (st != DORM_OK) return st;
  }
  r->timeout_ms = DORM_STS_DEFAULT_TIMEOUT_MS;
  return dorm__sts_endpoint_resolve(rc, rc->region, &r->sts, errbuf, errcap);
}

static dorm_status web_identity(dorm_credentials_provider *p, const dorm_resolved_config *rc,
                                const dorm_resolved_config *view, const char *role_arn, const char *token_file,
                                const char *env_session, char *errbuf, size_t errcap) {
  p->kind = SRC_WEB_IDENTITY;
  if (!(p->role.role_arn = strdup(role_arn)) || !(p->role.token_file = strdup(token_file)))
    return no_memory(errbuf, errcap);
  dorm_status st = role_settings(&p->role, rc, view, env_session, errbuf, errcap);
  if (st != DORM_OK) return st;
  if (view)
    snprintf(p->desc, sizeof p->desc, "web identity of profile '%.64s' (role %.128s)", view->profile, role_arn);
  else
    snprintf(p->desc, sizeof p->desc, "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, role %.128s)", role_arn);
  return DORM_OK;
}

static dorm_status fill_source_profile(dorm_credentials_provider *p, const dorm_resolved_config *rc,
                                       const char *name, profile_chain *ch, char *errbuf, size_t errcap);

/* role_arn with source_profile or credential_source, in profile view. */
static dorm_status assume_role(dorm_credentials_provider *p, const dorm_resolved_config *rc,
                               const dorm_resolved_config *view, profile_chain *ch, char *errbuf,
                               size_t errcap) {
  char w_arn[256] = "", w_src[256] = "", w_cs[256] = "", w_mfa[256] = "";
  const char *name = view->profile;
  const char *arn = dorm__config_profile_value(view, "role_arn", w_arn, sizeof w_arn);
  const char *src = dorm__config_profile_value(view, "source_profile", w_src, sizeof w_src);
  const char *cs = dorm__config_profile_value(view, "credential_source", w_cs, sizeof w_cs);
  if (dorm__config_profile_value(view, "mfa_serial", w_mfa, sizeof w_mfa)) {
    dorm__set_err(errbuf, errcap,
                  "%s: profile '%s' sets mfa_serial: libdorm cannot ask for an MFA code; assume the role "
                  "with credentials that need no MFA, or use a credential_process that caches an MFA session",
                  w_mfa, name);
    return DORM_ERR_CONFIG;
  }
  if (src && cs) {
    dorm__set_err(errbuf, errcap, "%s: profile '%s' sets both source_profile and credential_source (%s); use one",
                  w_src, name, w_cs);
    return DORM_ERR_CONFIG;
  }
  p->kind = SRC_ROLE;
  if (!(p->role.role_arn = strdup(arn))) return no_memory(errbuf, errcap);
  dorm_credentials_provider *sp = provider_alloc();
  if (!sp) return no_memory(errbuf, errcap);
  p->role.source = sp;
  dorm_status st = DORM_OK;
  char via[200];
  if (src) {
    char w_id[8];
    if (strcmp(src, name) == 0) {
      /* A profile may be its own source when it holds the keys itself. */
      dorm_resolved_config self = view_of(rc, name);
      bool chosen = false;
      if (dorm__config_profile_value(&self, "aws_access_key_id", w_id, sizeof w_id))
        st = profile_static(sp, &self, &chosen, errbuf, errcap);
      if (st == DORM_OK && !chosen) {
        dorm__set_err(errbuf, errcap, "%s: profile '%s' is its own source_profile but has no static keys", w_src,
                      name);
        st = DORM_ERR_CONFIG;
      }
    } else {
      for (int i = 0; i < ch->n; i++) {
        if (strcmp(ch->names[i], src) == 0) {
          char text[400];
          chain_text(ch, src, text, sizeof text);
          dorm__set_err(errbuf, errcap, "%s: source_profile cycle: %s", w_src, text);
          return DORM_ERR_CONFIG;
        }
      }
      if (ch->n == MAX_CHAIN) {
        dorm__set_err(errbuf, errcap, "%s: source_profile chain longer than %d profiles", w_src, MAX_CHAIN);
        return DORM_ERR_CONFIG;
      }
      if (!dorm__config_profile_exists(rc, src)) {
        dorm__set_err(errbuf, errcap, "%s: profile '%s' has source_profile '%s', which is not in %s or %s", w_src,
                      name, src, rc->config_file->path, rc->credentials_file->path);
        return DORM_ERR_CONFIG;
      }
      ch->names[ch->n++] = src;
      st = fill_source_profile(sp, rc, src, ch, errbuf, errcap);
      ch->n--;
    }
    snprintf(via, sizeof via, "source_profile '%.64s'", src);
  } else {
    bool chosen = false;
    if (strcmp(cs, "Environment") == 0) {
      const char *id = dorm__config_env("AWS_ACCESS_KEY_ID");
      const char *secret = dorm__config_env("AWS_SECRET_ACCESS_KEY");
      if (!id || !secret) {
        dorm__set_err(errbuf, errcap,
                      "%s: credential_source Environment, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set",
                      w_cs);
        return DORM_ERR_CONFIG;
      }
      sp->kind = SRC_ENV;
      snprintf(sp->desc, sizeof sp->desc, "environment (AWS_ACCESS_KEY_ID)");
      st = set_static(sp, id, secret, dorm__config_env("AWS_SESSION_TOKEN"), errbuf, errcap);
    } else if (strcmp(cs, "Ec2InstanceMetadata") == 0) {
      /* AWS_EC2_METADATA_DISABLED still applies, as in the SDKs. */
      st = choose_imds(sp, view, &chosen, errbuf, errcap);
      if (st == DORM_OK && !chosen) {
        dorm__set_err(errbuf, errcap, "%s: credential_source Ec2InstanceMetadata, but instance metadata is disabled "
                      "(AWS_EC2_METADATA_DISABLED)", w_cs);
        st = DORM_ERR_CONFIG;
      }
    } else if (strcmp(cs, "EcsContainer") == 0) {
      st = choose_container(sp, view, &chosen, errbuf, errcap);
      if (st == DORM_OK && !chosen) {
        dorm__set_err(errbuf, errcap, "%s: credential_source EcsContainer, but neither "
                      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set", w_cs);
        st = DORM_ERR_CONFIG;
      }
    } else {
      dorm__set_err(errbuf, errcap,
                    "%s: credential_source '%.64s' is not one of Environment, Ec2InstanceMetadata, EcsContainer",
                    w_cs, cs);
      st = DORM_ERR_CONFIG;
    }
    snprintf(via, sizeof via, "credential_source %.32s", cs);
  }
  if (st != DORM_OK) return st;
  st = role_settings(&p->role, rc, view, NULL, errbuf, errcap);
  if (st != DORM_OK) return st;
  snprintf(p->desc, sizeof p->desc, "profile '%.64s' (role %.128s via %.100s)", name, arn, via);
  return DORM_OK;
}

/* Which kind of role profile view is: 0 none, 1 source/credential_source, 2 web identity. */
static int role_kind(const dorm_resolved_config *view, char *errbuf, size_t errcap, dorm_status *st) {
  char w[256];
  *st = DORM_OK;
  if (!dorm__config_profile_value(view, "role_arn", w, sizeof w)) return 0;
  if (dorm__config_profile_value(view, "source_profile", NULL, 0) ||
      dorm__config_profile_value(view, "credential_source", NULL, 0))
    return 1;
  if (dorm__config_profile_value(view, "web_identity_token_file", NULL, 0)) return 2;
  dorm__set_err(errbuf, errcap,
                "%s: profile '%s' has role_arn but no source_profile, credential_source or web_identity_token_file",
                w, view->profile);
  *st = DORM_ERR_CONFIG;
  return -1;
}

static dorm_status profile_web_identity(dorm_credentials_provider *p, const dorm_resolved_config *rc,
                                        const dorm_resolved_config *view, char *errbuf, size_t errcap) {
  return web_identity(p, rc, view, dorm__config_profile_value(view, "role_arn", NULL, 0),
                      dorm__config_profile_value(view, "web_identity_token_file", NULL, 0), NULL, errbuf, errcap);
}

/* A profile named by source_profile: its static keys win (the SDKs' rule),
 * then a role of its own, then web identity, SSO or credential_process. */
static dorm_status fill_source_profile(dorm_credentials_provider *p, const dorm_resolved_config *rc,
                                       const char *name, profile_chain *ch, char *errbuf, size_t errcap) {
  dorm_resolved_config view = view_of(rc, name);
  bool chosen = false;
  dorm_status st = profile_static(p, &view, &chosen, errbuf, errcap);
  if (st != DORM_OK || chosen) return st;
  int kind = role_kind(&view, errbuf, errcap, &st);
  if (kind < 0) return st;
  if (kind == 1) return assume_role(p, rc, &view, ch, errbuf, errcap);
  if (kind == 2) return profile_web_identity(p, rc, &view, errbuf, errcap);
  st = profile_sso(p, &view, &chosen, errbuf, errcap);
  if (st != DORM_OK || chosen) return st;
  st = profile_process(p, &view, &chosen, errbuf, errcap);
  if (st != DORM_OK || chosen) return st;
  dorm__set_err(errbuf, errcap, "profile '%s' (a source_profile) has no credentials: no keys, role_arn, "
                "sso_session or credential_process", name);
  return DORM_ERR_CONFIG;
}

/* The active profile and the web identity variables, in the SDKs' order:
 * a role with source_profile/credential_source, web identity
 * (AWS_WEB_IDENTITY_TOKEN_FILE, then the profile's), SSO, static keys,
 * credential_process. */
static dorm_status choose_profile(dorm_credentials_provider *p, const dorm_resolved_config *rc,
                                  bool *chosen, char *errbuf, size_t errcap) {
  dorm_status st = DORM_OK;
  int kind = role_kind(rc, errbuf, errcap, &st);
  if (kind < 0) {
    /* role_arn alone is fine when the environment supplies the token. */
    if (!dorm__config_env("AWS_WEB_IDENTITY_TOKEN_FILE")) return st;
    kind = 0;
  }
  if (kind == 1) {
    profile_chain ch = {{rc->profile}, 1};
    *chosen = true;
    return assume_role(p, rc, rc, &ch, errbuf, errcap);
  }
  const char *env_token = dorm__config_env("AWS_WEB_IDENTITY_TOKEN_FILE");
  if (env_token) {
    const char *arn = dorm__config_env("AWS_ROLE_ARN");
    if (!arn) arn = dorm__config_profile_value(rc, "role_arn", NULL, 0);
    if (!arn) {
      dorm__set_err(errbuf, errcap, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
      return DORM_ERR_CONFIG;
    }
    *chosen = true;
    return web_identity(p, rc, NULL, arn, env_token, dorm__config_env("AWS_ROLE_SESSION_NAME"), errbuf, errcap);
  }
  if (kind == 2) {
    *chosen = true;
    return profile_web_identity(p, rc, rc, errbuf, errcap);
  }
  st = profile_sso(p, rc, chosen, errbuf, errcap);
  if (st != DORM_OK || *chosen) return st;
  st = profile_static(p, rc, chosen, errbuf, errcap);
  if (st != DORM_OK || *chosen) return st;
  st = profile_process(p, rc, chosen, errbuf, errcap);
  if (st != DORM_OK || *chosen) return st;
  char w[256];
  if (dorm__config_profile_value(rc, "login_session", w, sizeof w)) {
    dorm__set_err(errbuf, errcap,
            "%s: profile '%s' uses login_session, which libdorm does not support; use static keys, "
            "credential_process, a role, SSO, or the environment", w, rc->profile);
    return DORM_ERR_CONFIG;
  }
  return DORM_OK;
}

static dorm_status choose_container(dorm_credentials_provider *p, const dorm_resolved_config *rc,
                                    bool *chosen, char *errbuf, size_t errcap) {
  const char *rel = dorm__config_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const char *full = dorm__config_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  char *url = NULL;
  if (rel) {
    if (rel[0] != '/') {
      dorm__set_err(errbuf, errcap, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: must start with '/', got '%.100s'", rel);
      return DORM_ERR_CONFIG;
    }
    const char *host = "http://169.254.170.2";
    url = malloc(strlen(host) + strlen(rel) + 1);
    if (!url) return no_memory(errbuf, errcap);
    sprintf(url, "%s%s", host, rel);
    snprintf(p->desc, sizeof p->desc, "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)");
  } else if (full) {
    dorm_status st = dorm__creds_container_url_check(full, errbuf, errcap);
    if (st != DORM_OK) return st;
    url = strdup(full);
    if (!url) return no_memory(errbuf, errcap);
    snprintf(p->desc, sizeof p->desc, "container credentials (%.200s)", full);
  } else {
    return DORM_OK;
  }
  p->kind = SRC_CONTAINER;
  *chosen = true;
  p->container.url = url;
  p->container.timeout_ms = rc->metadata_timeout_ms > 0 ? rc->metadata_timeout_ms : DORM_DEFAULT_METADATA_TIMEOUT_MS;
  const char *file = dorm__config_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  const char *token = dorm__config_env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  if (file && !(p->container.auth_token_file = strdup(file))) return no_memory(errbuf, errcap);
  if (!file && token) {
    if (strpbrk(token, "\r\n")) {
      dorm__set_err(errbuf, errcap, "AWS_CONTAINER_AUTHORIZATION_TOKEN: must not contain a line break");
      return DORM_ERR_CONFIG;
    }
    if (!(p->container.auth_token = strdup(token))) return no_memory(errbuf, errcap);
  }
  return DORM_OK;
}

static dorm_status choose_imds(dorm_credentials_provider *p, const dorm_resolved_config *rc,
                               bool *chosen, char *errbuf, size_t errcap) {
  char where[256];
  bool disabled = false;
  const char *v = dorm__config_env("AWS_EC2_METADATA_DISABLED");
  if (v) {
    dorm_status st = dorm__config_parse_bool(v, "AWS_EC2_METADATA_DISABLED", &disabled, errbuf, errcap);
    if (st != DORM_OK) return st;
  }
  if (disabled) return DORM_OK;
  bool v1_disabled = false;
  dorm_status st = DORM_OK;
  if ((v = dorm__config_env("AWS_EC2_METADATA_V1_DISABLED")))
    st = dorm__config_parse_bool(v, "AWS_EC2_METADATA_V1_DISABLED", &v1_disabled, errbuf, errcap);
  else if ((v = dorm__config_profile_value(rc, "ec2_metadata_v1_disabled", where, sizeof where)))
    st = dorm__config_parse_bool(v, where, &v1_disabled, errbuf, errcap);
  if (st != DORM_OK) return st;

  const char *ep = dorm__config_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  const char *origin = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
  if (!ep && (ep = dorm__config_profile_value(rc, "ec2_metadata_service_endpoint", where, sizeof where)))
    origin = where;
  if (!ep) {
    const char *mode = dorm__config_env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    const char *mode_origin = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE";
    if (!mode && (mode = dorm__config_profile_value(rc, "ec2_metadata_service_endpoint_mode", where, sizeof where)))
      mode_origin = where;
    if (!mode || strcasecmp(mode, "IPv4") == 0) {
      ep = "http://169.254.169.254";
    } else if (strcasecmp(mode, "IPv6") == 0) {
      ep = "http://[fd00:ec2::254]";
    } else {
      dorm__set_err(errbuf, errcap, "%s: expected 'IPv4' or 'IPv6', got '%.64s'", mode_origin, mode);
      return DORM_ERR_CONFIG;
    }
  } else if (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0) {
    dorm__set_err(errbuf, errcap, "%s: '%.200s' must start with http:// or https://", origin, ep);
    return DORM_ERR_CONFIG;
  }
  size_t n = strlen(ep);
  while (n > 0 && ep[n - 1] == '/') n--;
  p->imds.endpoint = malloc(n + 1);
  if (!p->imds.endpoint) return no_memory(errbuf, errcap);
  memcpy(p->imds.endpoint, ep, n);
  p->imds.endpoint[n] = '\0';
  p->imds.v1_disabled = v1_disabled;
  p->imds.timeout_ms = rc->metadata_timeout_ms > 0 ? rc->metadata_timeout_ms : DORM_DEFAULT_METADATA_TIMEOUT_MS;
  p->kind = SRC_IMDS;
  snprintf(p->desc, sizeof p->desc, "EC2 instance metadata (%s)", p->imds.endpoint);
  *chosen = true;
  return DORM_OK;
}

static dorm_status choose(dorm_credentials_provider *p, const dorm_resolved_config *rc, char *errbuf,
                          size_t errcap) {
  if (rc->access_key_id) {
    p->kind = SRC_EXPLICIT;
    snprintf(p->desc, sizeof p->desc, "dorm_config");
    return set_static(p, rc->access_key_id, rc->secret_access_key, rc->session_token, errbuf, errcap);
  }
  /* A profile named for a role whose source is named too (credential_source
   * Environment, say) means that role: the keys in the environment are
   * then its source, not the answer. */
  bool chosen = false;
  dorm_status st;
  if (strcmp(rc->profile_source, "default") != 0 && dorm__config_profile_value(rc, "role_arn", NULL, 0) &&
      dorm__config_profile_value(rc, "credential_source", NULL, 0)) {
    st = choose_profile(p, rc, &chosen, errbuf, errcap);
    if (st != DORM_OK || chosen) return st;
  }
  const char *id = dorm__config_env("AWS_ACCESS_KEY_ID");
  const char *secret = dorm__config_env("AWS_SECRET_ACCESS_KEY");
  if (id || secret) {
    if (!id || !secret) {
      dorm__set_err(errbuf, errcap, "environment: %s is set but %s is not",
              id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
              id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
      return DORM_ERR_CONFIG;
    }
    p->kind = SRC_ENV;
    snprintf(p->desc, sizeof p->desc, "environment (AWS_ACCESS_KEY_ID)");
    return set_static(p, id, secret, dorm__config_env("AWS_SESSION_TOKEN"), errbuf, errcap);
  }
  st = choose_profile(p, rc, &chosen, errbuf, errcap);
  if (st != DORM_OK || chosen) return st;
  st = choose_container(p, rc, &chosen, errbuf, errcap);
  if (st != DORM_OK || chosen) return st;
  snprintf(p->skipped, sizeof p->skipped,
           "no credentials in dorm_config, the environment (AWS_ACCESS_KEY_ID), profile '%s' (%s, %s) "
           "or the container variables (AWS_CONTAINER_CREDENTIALS_*)",
           rc->profile, rc->credentials_file->path, rc->config_file->path);
  st = choose_imds(p, rc, &chosen, errbuf, errcap);
  if (st != DORM_OK || chosen) return st;
  dorm__set_err(errbuf, errcap, "%s, and instance metadata is disabled (AWS_EC2_METADATA_DISABLED)", p->skipped);
  return DORM_ERR_CONFIG;
}

dorm_status dorm__credentials_provider_new(const dorm_resolved_config *rc,
                                          dorm_credentials_provider **out, char *errbuf,
                                          size_t errcap) {
  *out = NULL;
  dorm_credentials_provider *p = provider_alloc();
  if (!p) return no_memory(errbuf, errcap);
  dorm_status st = choose(p, rc, errbuf, errcap);
  if (st != DORM_OK) {
    dorm__credentials_provider_free(p);
    return st;
  }
  *out = p;
  return DORM_OK;
}

/* ---- get and refresh ------------------------------------------------------ */

static bool fresh(const dorm_creds_value *v, time_t now) {
  return v->expiration == 0 || now < v->expiration - DORM_CREDS_REFRESH_WINDOW_S;
}

/* Tells get_copy's lock-free path what fresh() would say of cur (mu held). */
static void publish(dorm_credentials_provider *p) {
  int64_t until = !p->have ? 0
                  : p->cur.expiration == 0 ? INT64_MAX
                                           : (int64_t)p->cur.expiration - DORM_CREDS_REFRESH_WINDOW_S;
  atomic_store_explicit(&p->pub_gen, p->generation, memory_order_release);
  atomic_store_explicit(&p->fresh_until, until, memory_order_release);
}


static dorm_status fetch(dorm_credentials_provider *p, dorm_creds_value *v, char *errbuf, size_t errcap) {
  switch (p->kind) {
  case SRC_PROCESS: return fetch_process(p, v, errbuf, errcap);
  case SRC_CONTAINER: return dorm__creds_fetch_container(&p->container, v, errbuf, errcap);
  case SRC_IMDS: {
    char inner[512] = "";
    dorm_status st = dorm__creds_fetch_imds(&p->imds, v, inner, sizeof inner);
    if (st != DORM_OK && p->skipped[0]) dorm__set_err(errbuf, errcap, "%s; %s", p->skipped, inner);
    else if (st != DORM_OK) dorm__set_err(errbuf, errcap, "%s", inner);
    return st;
  }
  case SRC_ROLE:
  case SRC_WEB_IDENTITY: {
    char inner[900] = "";
    dorm_status st = dorm__sts_fetch_role(&p->role, v, inner, sizeof inner);
    if (st != DORM_OK) dorm__set_err(errbuf, errcap, "%s: %s", p->desc, inner);
    return st;
  }
  case SRC_SSO: {
    char inner[900] = "";
    dorm_status st = dorm__sso_fetch(&p->sso, v, inner, sizeof inner);
    if (st != DORM_OK) dorm__set_err(errbuf, errcap, "%s: %s", p->desc, inner);
    return st;
  }
  default:
    dorm__set_err(errbuf, errcap, "%s: static credentials cannot be refreshed", p->desc);
    return DORM_ERR_CONFIG;
  }
}

static long mono_ms(void) { return now_ms(); }

/* Copies cur into *held unless *gen says it already has it. mu is held. */
static dorm_status copy_out(dorm_credentials_provider *p, dorm_creds_value *held, unsigned long *gen,
                            char *errbuf, size_t errcap) {
  if (*gen == p->generation && held->access_key_id) return DORM_OK;
  dorm__creds_value_clear(held);
  held->access_key_id = strdup(p->cur.access_key_id);
  held->secret_access_key = strdup(p->cur.secret_access_key);
  held->session_token = p->cur.session_token ? strdup(p->cur.session_token) : NULL;
  held->expiration = p->cur.expiration;
  if (!held->access_key_id || !held->secret_access_key || (p->cur.session_token && !held->session_token)) {
    dorm__creds_value_clear(held);
    *gen = 0;
    return no_memory(errbuf, errcap);
  }
  *gen = p->generation;
  return DORM_OK;
}

DORM__HOT
dorm_status dorm__credentials_provider_get_copy(dorm_credentials_provider *p, dorm_creds_value *held,
                                               unsigned long *gen, char *errbuf, size_t errcap) {
  /* The common case, without the lock: *held already has the provider's
   * credentials and they are fresh (what the locked path's first branch
   * finds, then leaves *held as it is). fresh_until is read first: seen
   * after an invalidation or a refresh, it comes with that change's
   * generation (publish), which then differs from *gen. */
  int64_t until = atomic_load_explicit(&p->fresh_until, memory_order_acquire);
  if (held->access_key_id && until > 0 && atomic_load_explicit(&p->pub_gen, memory_order_acquire) == *gen &&
      (until == INT64_MAX || (int64_t)time(NULL) < until))
    return DORM_OK;
  pthread_mutex_lock(&p->mu);
  dorm_status st;
  for (;;) {
    time_t now = time(NULL);
    if (p->have && fresh(&p->cur, now)) {
      st = copy_out(p, held, gen, errbuf, errcap);
      pthread_mutex_unlock(&p->mu);
      return st;
    }
    bool still_valid = p->have && now < p->cur.expiration;
    /* Keys that still work are used while another thread refreshes, and
     * for a while after a refresh failed. */
    if (still_valid && (p->refreshing || now < p->no_refresh_before)) {
      st = copy_out(p, held, gen, errbuf, errcap);
      pthread_mutex_unlock(&p->mu);
      return st;
    }
    if (p->refreshing) {
      pthread_cond_wait(&p->cv, &p->mu);
      continue;
    }
    if (p->fail_status != DORM_OK && mono_ms() < p->fail_until_ms) {
      dorm__set_err(errbuf, errcap, "%s", p->fail_msg);
      st = p->fail_status;
      pthread_mutex_unlock(&p->mu);
      return st;
    }
    break;
  }
  p->refreshing = true;
  pthread_mutex_unlock(&p->mu);

  /* The fetch runs without the lock: it reads only settings that never
   * change, and may take seconds (STS, a process, metadata). */
  dorm_creds_value v;
  memset(&v, 0, sizeof v);
  st = fetch(p, &v, errbuf, errcap);
  time_t now = time(NULL);
  if (st == DORM_OK && v.expiration != 0 && v.expiration <= now) {
    char when[32];
    dorm__civil_format_seconds(v.expiration, when);
    dorm__set_err(errbuf, errcap, "%s: returned credentials that expired at %s", p->desc, when);
    dorm__creds_value_clear(&v);
    st = DORM_ERR_CONFIG;
  }

  pthread_mutex_lock(&p->mu);
  p->refreshing = false;
  p->fetches++;
  if (st != DORM_OK) {
    if (p->have && now < p->cur.expiration) {
      /* Static stability: an outage of the source must not fail requests
       * while the keys we hold still work. */
      p->no_refresh_before = now + DORM_CREDS_RETRY_AFTER_FAILURE_S;
      st = copy_out(p, held, gen, errbuf, errcap);
    } else {
      p->fail_status = st;
      snprintf(p->fail_msg, sizeof p->fail_msg, "%s", errbuf && errcap ? errbuf : "credentials failed");
      p->fail_until_ms = mono_ms() + DORM_CREDS_FAILURE_HOLD_MS;
    }
  } else {
    dorm__creds_value_clear(&p->cur);
    p->cur = v;
    p->have = true;
    p->generation++;
    publish(p);
    p->no_refresh_before = 0;
    p->fail_status = DORM_OK;
    st = copy_out(p, held, gen, errbuf, errcap);
  }
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return st;
}

dorm_status dorm__credentials_provider_get(dorm_credentials_provider *p, dorm_credentials *out,
                                          char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  dorm_status st = dorm__credentials_provider_get_copy(p, &p->exposed, &p->exposed_gen, errbuf, errcap);
  if (st != DORM_OK) return st;
  out->access_key_id = p->exposed.access_key_id;
  out->secret_access_key = p->exposed.secret_access_key;
  out->session_token = p->exposed.session_token;
  out->expiration = p->exposed.expiration;
  return DORM_OK;
}

bool dorm__credentials_provider_invalidate(dorm_credentials_provider *p, unsigned long generation) {
  pthread_mutex_lock(&p->mu);
  /* Only the credentials the caller used, and only refreshable ones: many
   * requests refused together make one refresh, static keys none. */
  bool refreshable = p->kind != SRC_EXPLICIT && p->kind != SRC_ENV && p->kind != SRC_PROFILE;
  bool worth = false;
  if (refreshable && p->have && p->generation != generation) {
    worth = true; /* someone already has newer ones */
  } else if (refreshable && p->have && p->cur.expiration != 0) {
    p->cur.expiration = 1;
    publish(p);
    p->no_refresh_before = 0;
    worth = true;
  }
  pthread_mutex_unlock(&p->mu);
  return worth;
}

dorm_credentials_provider *dorm__credentials_provider_ref(dorm_credentials_provider *p) {
  pthread_mutex_lock(&p->mu);
  p->refs++;
  pthread_mutex_unlock(&p->mu);
  return p;
}

unsigned long dorm__credentials_provider_fetches(dorm_credentials_provider *p) {
  pthread_mutex_lock(&p->mu);
  unsigned long n = p->fetches;
  pthread_mutex_unlock(&p->mu);
  return n;
}

dorm_status dorm__credentials_provider_new_role(dorm_role_source *role, const char *desc,
                                               dorm_credentials_provider **out, char *errbuf,
                                               size_t errcap) {
  *out = NULL;
  dorm_credentials_provider *p = provider_alloc();
  if (!p) {
    dorm__role_source_clear(role);
    return no_memory(errbuf, errcap);
  }
  p->kind = role->token_file ? SRC_WEB_IDENTITY : SRC_ROLE;
  p->role = *role;
  memset(role, 0, sizeof *role);
  snprintf(p->desc, sizeof p->desc, "%s", desc);
  *out = p;
  return DORM_OK;
}

const char *dorm__credentials_provider_source(const dorm_credentials_provider *p) {
  switch (p->kind) {
  case SRC_EXPLICIT: return "explicit";
  case SRC_ENV: return "environment";
  case SRC_PROFILE: return "profile";
  case SRC_PROCESS: return "credential_process";
  case SRC_CONTAINER: return "container";
  case SRC_IMDS: return "imds";
  case SRC_ROLE: return "assume_role";
  case SRC_WEB_IDENTITY: return "web_identity";
  case SRC_SSO: return "sso";
  }
  return "unknown";
}

void dorm__credentials_provider_free(dorm_credentials_provider *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  int left = --p->refs;
  pthread_mutex_unlock(&p->mu);
  if (left > 0) return;
  dorm__creds_value_clear(&p->cur);
  dorm__creds_value_clear(&p->exposed);
  dorm__role_source_clear(&p->role);
  dorm__sso_source_clear(&p->sso);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p->process_cmd);
  free(p->container.url);
  dorm__secret_free(p->container.auth_token);
  free(p->container.auth_token_file);
  free(p->imds.endpoint);
  free(p);
}
