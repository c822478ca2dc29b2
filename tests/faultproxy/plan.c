#include "plan.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fault_names[FP_FAULT_COUNT] = {
    "pass", "500", "503", "throttle", "throttling", "validation",
    "reset", "reset_after", "truncate", "badcrc",
};

/* The probability option of each fault, in fp_fault order. */
static const char *const prob_options[FP_FAULT_COUNT] = {
    NULL, "--p-500", "--p-503", "--p-throttle", "--p-throttling", "--p-validation",
    "--p-reset", "--p-reset-after", "--p-truncate", "--p-badcrc",
};

const char *fp_fault_name(fp_fault f) {
  return (f >= 0 && f < FP_FAULT_COUNT) ? fault_names[f] : "unknown";
}

bool fp_fault_parse(const char *s, size_t n, fp_fault *out) {
  for (int i = 0; i < FP_FAULT_COUNT; i++) {
    if (strlen(fault_names[i]) == n && memcmp(fault_names[i], s, n) == 0) {
      *out = (fp_fault)i;
      return true;
    }
  }
  return false;
}

static void set_err(char *err, size_t cap, const char *fmt, ...) {
  if (!err || cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
}

void fp_plan_init(fp_plan *p) {
  memset(p, 0, sizeof *p);
  p->seed = 1;
  p->delay_ms = 1000;
}

static void free_only(fp_plan *p) {
  for (size_t i = 0; i < p->only_len; i++) free(p->only[i]);
  free(p->only);
  p->only = NULL;
  p->only_len = 0;
}

void fp_plan_free(fp_plan *p) {
  free(p->script);
  free_only(p);
  fp_plan_init(p);
}

static int parse_prob(const char *name, const char *value, double *out, char *err, size_t cap) {
  char *end;
  errno = 0;
  double v = strtod(value, &end);
  if (end == value || *end != '\0' || errno != 0 || !isfinite(v) || v < 0.0 || v > 1.0) {
    set_err(err, cap, "%s: expected a probability from 0 to 1, got '%s'", name, value);
    return -1;
  }
  *out = v;
  return 1;
}

static int parse_ulong(const char *name, const char *value, unsigned long long max,
                       unsigned long long *out, char *err, size_t cap) {
  char *end;
  errno = 0;
  if (value[0] < '0' || value[0] > '9') goto bad;
  unsigned long long v = strtoull(value, &end, 10);
  if (*end != '\0' || errno != 0 || v > max) goto bad;
  *out = v;
  return 1;
bad:
  set_err(err, cap, "%s: expected a whole number from 0 to %llu, got '%s'", name, max, value);
  return -1;
}

static int parse_script(fp_plan *p, const char *value, char *err, size_t cap) {
  size_t n = 1;
  for (const char *c = value; *c; c++) n += (*c == ',');
  if (n > FP_MAX_SCRIPT) {
    set_err(err, cap, "--script: at most %d steps, got %zu", FP_MAX_SCRIPT, n);
    return -1;
  }
  fp_step *steps = calloc(n, sizeof *steps);
  if (!steps) {
    set_err(err, cap, "--script: out of memory");
    return -1;
  }
  const char *s = value;
  for (size_t i = 0; i < n; i++) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    if (len == 4 && memcmp(s, "slow", 4) == 0) {
      steps[i].slow = true;
    } else if (len > 5 && memcmp(s, "slow+", 5) == 0) {
      steps[i].slow = true;
      if (!fp_fault_parse(s + 5, len - 5, &steps[i].fault)) goto bad;
    } else if (!fp_fault_parse(s, len, &steps[i].fault)) {
      goto bad;
    }
    s = end ? end + 1 : s + len;
    continue;
  bad:
    set_err(err, cap,
            "--script: step %zu '%.*s' is not one of pass, 500, 503, throttle, throttling, "
            "validation, reset, reset_after, truncate, badcrc, slow, slow+<fault>",
            i + 1, (int)len, s);
    free(steps);
    return -1;
  }
  free(p->script);
  p->script = steps;
  p->script_len = n;
  return 1;
}

static bool valid_op_name(const char *s, size_t n) {
  if (n == 0 || n > 64) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

static int parse_only(fp_plan *p, const char *value, char *err, size_t cap) {
  size_t n = 1;
  for (const char *c = value; *c; c++) n += (*c == ',');
  char **names = calloc(n, sizeof *names);
  if (!names) {
    set_err(err, cap, "--only: out of memory");
    return -1;
  }
  const char *s = value;
  for (size_t i = 0; i < n; i++) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    if (!valid_op_name(s, len)) {
      set_err(err, cap, "--only: '%.*s' is not an operation name (e.g. PutItem)", (int)len, s);
      goto fail;
    }
    names[i] = strndup(s, len);
    if (!names[i]) {
      set_err(err, cap, "--only: out of memory");
      goto fail;
    }
    s = end ? end + 1 : s + len;
  }
  free_only(p);
  p->only = names;
  p->only_len = n;
  return 1;
fail:
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  return -1;
}

int fp_plan_option(fp_plan *p, const char *name, const char *value, char *err, size_t errcap) {
  for (int f = 1; f < FP_FAULT_COUNT; f++) {
    if (strcmp(name, prob_options[f]) == 0) return parse_prob(name, value, &p->p[f], err, errcap);
  }
  if (strcmp(name, "--p-slow") == 0) return parse_prob(name, value, &p->p_slow, err, errcap);
  if (strcmp(name, "--seed") == 0) {
    unsigned long long v;
    int rc = parse_ulong(name, value, UINT64_MAX, &v, err, errcap);
    if (rc == 1) p->seed = v;
    return rc;
  }
  if (strcmp(name, "--delay-ms") == 0) {
    unsigned long long v;
    int rc = parse_ulong(name, value, FP_MAX_DELAY_MS, &v, err, errcap);
    if (rc == 1) p->delay_ms = (long)v;
    return rc;
  }
  if (strcmp(name, "--script") == 0) return parse_script(p, value, err, errcap);
  if (strcmp(name, "--script-mode") == 0) {
    if (strcmp(value, "cycle") == 0) p->script_once = false;
    else if (strcmp(value, "once") == 0) p->script_once = true;
    else {
      set_err(err, errcap, "--script-mode: expected 'cycle' or 'once', got '%s'", value);
      return -1;
    }
    return 1;
  }
  if (strcmp(name, "--only") == 0) return parse_only(p, value, err, errcap);
  return 0;
}

int fp_plan_finish(fp_plan *p, char *err, size_t errcap) {
  double sum = 0;
  for (int f = 1; f < FP_FAULT_COUNT; f++) sum += p->p[f];
  if (sum > 1.0 + 1e-9) {
    set_err(err, errcap, "the fault probabilities add up to %g, more than 1", sum);
    return -1;
  }
  p->rng = p->seed;
  p->script_pos = 0;
  return 0;
}

/* Splits text into blank-separated words with '...' / "..." quoting.
 * Returns the number of words (written as malloc'd strings into words[]), or
 * -1 with a message. */
static int split_words(const char *text, size_t len, char ***out, char *err, size_t cap) {
  size_t n = 0, alloc = 8;
  char **words = malloc(alloc * sizeof *words);
  char *cur = malloc(len + 1);
  if (!words || !cur) goto oom;
  size_t i = 0;
  while (i < len) {
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) i++;
    if (i >= len) break;
    size_t w = 0;
    while (i < len && !(text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) {
      char c = text[i];
      if (c == '\0') {
        set_err(err, cap, "plan text contains a NUL byte");
        goto fail;
      }
      if (c == '\'' || c == '"') {
        size_t close = i + 1;
        while (close < len && text[close] != c) close++;
        if (close >= len) {
          set_err(err, cap, "plan text: unterminated %c quote at offset %zu", c, i);
          goto fail;
        }
        memcpy(cur + w, text + i + 1, close - i - 1);
        w += close - i - 1;
        i = close + 1;
        continue;
      }
      cur[w++] = c;
      i++;
    }
    if (n + 1 >= alloc) {
      char **bigger = realloc(words, alloc * 2 * sizeof *words);
      if (!bigger) goto oom;
      words = bigger;
      alloc *= 2;
    }
    words[n] = strndup(cur, w);
    if (!words[n]) goto oom;
    n++;
  }
  free(cur);
  *out = words;
  return (int)n;
oom:
  set_err(err, cap, "plan text: out of memory");
fail:
  if (words)
    for (size_t k = 0; k < n; k++) free(words[k]);
  free(words);
  free(cur);
  return -1;
}

int fp_plan_parse_text(const char *text, size_t len, fp_plan *out, char *err, size_t errcap) {
  fp_plan_init(out);
  char **words = NULL;
  int n = split_words(text, len, &words, err, errcap);
  if (n < 0) return -1;
  int rc = 0;
  for (int i = 0; i < n && rc == 0; i++) {
    char *name = words[i], *value;
    char *eq = strchr(name, '=');
    if (strncmp(name, "--", 2) != 0) {
      set_err(err, errcap, "plan text: expected an option like --p-500, got '%s'", name);
      rc = -1;
      break;
    }
    if (eq) {
      *eq = '\0';
      value = eq + 1;
    } else if (i + 1 < n) {
      value = words[++i];
    } else {
      set_err(err, errcap, "%s: missing value", name);
      rc = -1;
      break;
    }
    int r = fp_plan_option(out, name, value, err, errcap);
    if (r == 0) {
      set_err(err, errcap, "plan text: unknown option '%s'", name);
      rc = -1;
    } else if (r < 0) {
      rc = -1;
    }
  }
  for (int i = 0; i < n; i++) free(words[i]);
  free(words);
  if (rc == 0) rc = fp_plan_finish(out, err, errcap);
  if (rc != 0) fp_plan_free(out);
  return rc;
}

bool fp_plan_applies(const fp_plan *p, const char *op, size_t op_len) {
  if (p->only_len == 0) return true;
  for (size_t i = 0; i < p->only_len; i++) {
    if (strlen(p->only[i]) == op_len && memcmp(p->only[i], op, op_len) == 0) return true;
  }
  return false;
}

/* splitmix64: tiny, good enough for test schedules, and fully determined by the seed. */
static uint64_t next_u64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double next_unit(uint64_t *state) { return (double)(next_u64(state) >> 11) * 0x1.0p-53; }

fp_step fp_plan_decide(fp_plan *p) {
  fp_step step = {FP_PASS, false};
  if (p->script_len > 0 && (!p->script_once || p->script_pos < p->script_len)) {
    step = p->script[p->script_pos % p->script_len];
    p->script_pos++;
    if (p->script_pos == p->script_len && !p->script_once) p->script_pos = 0;
    return step;
  }
  double r = next_unit(&p->rng), s = next_unit(&p->rng);
  double acc = 0;
  for (int f = 1; f < FP_FAULT_COUNT; f++) {
    acc += p->p[f];
    if (p->p[f] > 0 && r < acc) {
      step.fault = (fp_fault)f;
      break;
    }
  }
  step.slow = s < p->p_slow;
  return step;
}

/* Appends formatted text to a growing malloc'd string; on failure frees it
 * and leaves *buf NULL. */
static void appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
  if (!*buf) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0) {
      free(*buf);
      *buf = NULL;
      return;
    }
    if ((size_t)n < *cap - *len) {
      *len += (size_t)n;
      return;
    }
    char *bigger = realloc(*buf, *cap * 2 + (size_t)n);
    if (!bigger) {
      free(*buf);
      *buf = NULL;
      return;
    }
    *buf = bigger;
    *cap = *cap * 2 + (size_t)n;
  }
}

/* The shortest of %.15g / %.17g that reads back as the same double. */
static const char *fmt_prob(double v, char *buf, size_t cap) {
  snprintf(buf, cap, "%.15g", v);
  if (strtod(buf, NULL) != v) snprintf(buf, cap, "%.17g", v);
  return buf;
}

char *fp_plan_describe(const fp_plan *p) {
  char num[32];
  size_t len = 0, cap = 256;
  char *s = malloc(cap);
  if (!s) return NULL;
  s[0] = '\0';
  appendf(&s, &len, &cap, "--seed %llu", (unsigned long long)p->seed);
  for (int f = 1; f < FP_FAULT_COUNT; f++) {
    if (p->p[f] > 0) appendf(&s, &len, &cap, " %s %s", prob_options[f], fmt_prob(p->p[f], num, sizeof num));
  }
  if (p->p_slow > 0) appendf(&s, &len, &cap, " --p-slow %s", fmt_prob(p->p_slow, num, sizeof num));
  appendf(&s, &len, &cap, " --delay-ms %ld", p->delay_ms);
  if (p->script_len > 0) {
    appendf(&s, &len, &cap, " --script ");
    for (size_t i = 0; i < p->script_len; i++) {
      const fp_step *st = &p->script[i];
      const char *sep = i ? "," : "";
      if (st->slow && st->fault == FP_PASS) appendf(&s, &len, &cap, "%sslow", sep);
      else if (st->slow) appendf(&s, &len, &cap, "%sslow+%s", sep, fp_fault_name(st->fault));
      else appendf(&s, &len, &cap, "%s%s", sep, fp_fault_name(st->fault));
    }
    appendf(&s, &len, &cap, " --script-mode %s", p->script_once ? "once" : "cycle");
  }
  if (p->only_len > 0) {
    appendf(&s, &len, &cap, " --only ");
    for (size_t i = 0; i < p->only_len; i++) appendf(&s, &len, &cap, "%s%s", i ? "," : "", p->only[i]);
  }
  return s;
}
