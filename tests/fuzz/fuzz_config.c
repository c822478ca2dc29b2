/* The shared config files (runtime/src/aws/ini.c) and the configuration
 * resolver (config.c), with the credential source chosen from them
 * (dorm__credentials_provider_new: no I/O, nothing is fetched).
 *
 * Input: the text of ~/.aws/config, optionally followed by a line
 * "#@credentials" and the text of ~/.aws/credentials (without that line
 * there is no credentials file). Both are comments to the INI parser, so a
 * seed is a plain config file.
 *
 * Properties:
 *   - dorm__ini_parse (on exact-size buffers) accepts the text or refuses it
 *     with DORM_ERR_CONFIG and "path:line: ..."; what it accepts has
 *     non-empty, unique, trimmed section names and lower-case, unique,
 *     trimmed keys, trimmed value lines, sub-properties only under an empty
 *     value, line numbers inside the text; written back as INI it parses to
 *     the same sections, keys, values and sub-properties;
 *   - dorm__config_resolve, for the default profile and the profiles the
 *     files name, either resolves (a valid region, an http(s) endpoint with
 *     host and path, 1 or more attempts) or fails with a message, and a
 *     resolved configuration gives a credential provider or a
 *     DORM_ERR_CONFIG with a message.
 * The files live in a private temporary directory (FUZZ_TMPDIR, else
 * /dev/shm or /tmp) named by AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE;
 * every other AWS_* variable is cleared. */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "aws_internal.h"
#include "fuzz_support.h"

#define MARKER "#@credentials\n"

static char dir[256], config_path[300], creds_path[300];

static void cleanup(void) {
  if (!dir[0]) return;
  unlink(config_path);
  unlink(creds_path);
  rmdir(dir);
}

static void setup(void) {
  static const char *const clear[] = {
      "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB",
      "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
      "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
      "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_V1_DISABLED"};
  for (size_t i = 0; i < sizeof clear / sizeof clear[0]; i++) unsetenv(clear[i]);
  const char *base = getenv("FUZZ_TMPDIR");
  if (!base || !*base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  snprintf(dir, sizeof dir, "%s/dorm-fuzz-config-XXXXXX", base);
  FUZZ_CHECK(mkdtemp(dir), "cannot make a directory in %s", base);
  snprintf(config_path, sizeof config_path, "%s/config", dir);
  snprintf(creds_path, sizeof creds_path, "%s/credentials", dir);
  setenv("AWS_CONFIG_FILE", config_path, 1);
  setenv("AWS_SHARED_CREDENTIALS_FILE", creds_path, 1);
  atexit(cleanup);
}

static void write_file(const char *path, const char *text, size_t len) {
  FILE *f = fopen(path, "wb");
  FUZZ_CHECK(f, "cannot write %s", path);
  FUZZ_CHECK(fwrite(text, 1, len, f) == len && fclose(f) == 0, "cannot write %s", path);
}

/* ---- INI ---- */

static bool blank(char c) { return c == ' ' || c == '\t'; }

static void check_trimmed(const char *what, const char *s, size_t n) {
  FUZZ_CHECK(n == 0 || (!blank(s[0]) && !blank(s[n - 1])), "%s not trimmed: \"%s\"", what, fuzz_show(s, n));
}

static void check_props(const dorm_ini_prop *props, size_t n, int lines, bool sub) {
  for (size_t i = 0; i < n; i++) {
    const dorm_ini_prop *p = &props[i];
    size_t kl = strlen(p->key);
    FUZZ_CHECK(kl > 0 && !strchr(p->key, '='), "key \"%s\"", fuzz_show(p->key, kl));
    check_trimmed("key", p->key, kl);
    for (const char *c = p->key; *c; c++) FUZZ_CHECK(!isupper((unsigned char)*c), "key \"%s\" not lower-case", p->key);
    for (size_t j = 0; j < i; j++) FUZZ_CHECK(strcmp(props[j].key, p->key) != 0, "key \"%s\" twice", p->key);
    FUZZ_CHECK(p->line >= 1 && p->line <= lines, "line %d of %d", p->line, lines);
    const char *v = p->value;
    for (;;) {
      const char *nl = strchr(v, '\n');
      size_t vl = nl ? (size_t)(nl - v) : strlen(v);
      check_trimmed("value line", v, vl);
      FUZZ_CHECK(v == p->value || vl > 0, "an empty continuation line in \"%s\"", fuzz_show(p->value, strlen(p->value)));
      if (!nl) break;
      v = nl + 1;
    }
    FUZZ_CHECK(!sub || !strchr(p->value, '\n'), "a sub-property with a continued value");
    FUZZ_CHECK(p->nsub == 0 || (!sub && p->value[0] == '\0'), "sub-properties under \"%s\"", p->key);
    check_props(p->sub, p->nsub, lines, true);
  }
}

static void put(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
  if (*len + n + 1 > *cap) {
    while (*len + n + 1 > *cap) *cap = *cap ? *cap * 2 : 256;
    *buf = realloc(*buf, *cap);
    FUZZ_CHECK(*buf, "out of memory");
  }
  memcpy(*buf + *len, s, n);
  *len += n;
}
#define PUTS(s) put(&out, &len, &cap, (s), strlen(s))

/* The parsed file as INI text: CRLF line ends (the parser drops one CR, so
 * a value ending in CR keeps it), "key=value" (a value starting with '#'
 * stays a value), continuation lines and sub-properties indented. */
static char *write_ini(const dorm_ini *ini, size_t *out_len) {
  char *out = NULL;
  size_t len = 0, cap = 0;
  for (size_t i = 0; i < ini->nsections; i++) {
    const dorm_ini_section *s = &ini->sections[i];
    PUTS("[");
    PUTS(s->name);
    PUTS("]\r\n");
    for (size_t j = 0; j < s->nprops; j++) {
      const dorm_ini_prop *p = &s->props[j];
      PUTS(p->key);
      PUTS("=");
      for (const char *v = p->value; *v; v++) {
        if (*v == '\n') PUTS("\r\n  ");
        else put(&out, &len, &cap, v, 1);
      }
      PUTS("\r\n");
      for (size_t k = 0; k < p->nsub; k++) {
        PUTS("  ");
        PUTS(p->sub[k].key);
        PUTS("=");
        PUTS(p->sub[k].value);
        PUTS("\r\n");
      }
    }
  }
  *out_len = len;
  return out;
}

static bool same_props(const dorm_ini_prop *a, size_t na, const dorm_ini_prop *b, size_t nb) {
  if (na != nb) return false;
  for (size_t i = 0; i < na; i++)
    if (strcmp(a[i].key, b[i].key) != 0 || strcmp(a[i].value, b[i].value) != 0 ||
        !same_props(a[i].sub, a[i].nsub, b[i].sub, b[i].nsub))
      return false;
  return true;
}

static void ini_check(const char *text, size_t len) {
  char *exact = fuzz_exact_copy((const uint8_t *)text, len);
  char err[512] = "";
  dorm_ini *ini = (dorm_ini *)&err; /* must be set to NULL on failure */
  dorm_status st = dorm__ini_parse(exact, len, "fuzz.ini", &ini, err, sizeof err);
  if (st != DORM_OK) {
    FUZZ_CHECK(st == DORM_ERR_CONFIG || st == DORM_ERR_NO_MEMORY, "unexpected %s (%s)", dorm_strerror(st), err);
    FUZZ_CHECK(ini == NULL, "a refused file left a result");
    FUZZ_CHECK(st != DORM_ERR_CONFIG || strncmp(err, "fuzz.ini:", 9) == 0, "message without the place: %s", err);
    fuzz_exact_free(exact);
    return;
  }
  int lines = 1;
  for (size_t i = 0; i < len; i++) lines += exact[i] == '\n';
  for (size_t i = 0; i < ini->nsections; i++) {
    const dorm_ini_section *s = &ini->sections[i];
    size_t nl = strlen(s->name);
    FUZZ_CHECK(nl > 0 && !strpbrk(s->name, "[]#;"), "section name \"%s\"", fuzz_show(s->name, nl));
    check_trimmed("section name", s->name, nl);
    for (size_t j = 0; j < i; j++) FUZZ_CHECK(strcmp(ini->sections[j].name, s->name) != 0, "section \"%s\" twice", s->name);
    FUZZ_CHECK(dorm__ini_section_find(ini, s->name) == s, "section lookup");
    FUZZ_CHECK(s->line >= 1 && s->line <= lines, "section line %d of %d", s->line, lines);
    check_props(s->props, s->nprops, lines, false);
    for (size_t j = 0; j < s->nprops; j++) FUZZ_CHECK(dorm__ini_get(s, s->props[j].key) == &s->props[j], "key lookup");
  }
  size_t wlen = 0;
  char *written = write_ini(ini, &wlen);
  char *wexact = fuzz_exact_copy((const uint8_t *)written, wlen);
  dorm_ini *back = NULL;
  st = dorm__ini_parse(wexact, wlen, "again.ini", &back, err, sizeof err);
  FUZZ_CHECK(st == DORM_OK, "written back, it does not parse: %s\n%s", err, fuzz_show(written, wlen));
  FUZZ_CHECK(back->nsections == ini->nsections, "sections %zu -> %zu", ini->nsections, back->nsections);
  for (size_t i = 0; i < ini->nsections; i++) {
    const dorm_ini_section *x = &ini->sections[i], *y = &back->sections[i];
    FUZZ_CHECK(strcmp(x->name, y->name) == 0 && same_props(x->props, x->nprops, y->props, y->nprops),
               "section \"%s\" changed when written back:\n%s", x->name, fuzz_show(written, wlen));
  }
  dorm__ini_free(back);
  dorm__ini_free(ini);
  free(written);
  fuzz_exact_free(wexact);
  fuzz_exact_free(exact);
}

/* ---- the resolver ---- */

static void resolve(const char *profile) {
  dorm_config cfg;
  dorm_config_init(&cfg);
  cfg.profile = profile;
  dorm_resolved_config rc;
  char err[512] = "";
  dorm_status st = dorm__config_resolve(&cfg, &rc, err, sizeof err);
  if (st != DORM_OK) {
    FUZZ_CHECK(st == DORM_ERR_CONFIG || st == DORM_ERR_IO || st == DORM_ERR_NO_MEMORY, "resolve: unexpected %s (%s)",
               dorm_strerror(st), err);
    FUZZ_CHECK(err[0], "resolve failed without a message");
    FUZZ_CHECK(!rc.profile && !rc.config_file, "a failed resolve left state behind");
    return;
  }
  FUZZ_CHECK(rc.profile && rc.region && rc.region[0] && rc.config_file && rc.credentials_file, "resolved fields missing");
  for (const char *c = rc.region; *c; c++)
    FUZZ_CHECK((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-', "region \"%s\"", rc.region);
  FUZZ_CHECK(rc.endpoint_url && (strncmp(rc.endpoint_url, "http://", 7) == 0 || strncmp(rc.endpoint_url, "https://", 8) == 0),
             "endpoint \"%s\"", rc.endpoint_url ? rc.endpoint_url : "(null)");
  FUZZ_CHECK(rc.host && rc.host[0] && rc.path && rc.path[0] == '/', "host \"%s\", path \"%s\"", rc.host ? rc.host : "",
             rc.path ? rc.path : "");
  FUZZ_CHECK(rc.https == (strncmp(rc.endpoint_url, "https://", 8) == 0), "https flag");
  FUZZ_CHECK(rc.retry.max_attempts >= 1, "max_attempts %d", rc.retry.max_attempts);
  FUZZ_CHECK(rc.endpoint_source[0] && rc.region_source[0] && rc.profile_source[0], "sources not named");

  dorm_credentials_provider *p = NULL;
  st = dorm__credentials_provider_new(&rc, &p, err, sizeof err);
  if (st == DORM_OK) {
    FUZZ_CHECK(p, "no provider");
    const char *src = dorm__credentials_provider_source(p);
    FUZZ_CHECK(src && src[0], "provider without a source");
    dorm__credentials_provider_free(p);
  } else {
    FUZZ_CHECK(st == DORM_ERR_CONFIG || st == DORM_ERR_NO_MEMORY || st == DORM_ERR_IO, "provider: unexpected %s (%s)",
               dorm_strerror(st), err);
    FUZZ_CHECK(err[0], "provider refused without a message");
  }
  dorm__resolved_config_free(&rc);
}

/* Profile names the files mention: [profile x] and [default] in the config
 * file, [x] in the credentials file (at most four in all). */
static size_t profile_names(const char *config, size_t clen, const char *creds, size_t crlen, char names[4][64]) {
  size_t n = 0;
  const char *texts[2] = {config, creds};
  size_t lens[2] = {clen, crlen};
  for (int t = 0; t < 2 && texts[t]; t++) {
    dorm_ini *ini = NULL;
    char err[256];
    if (dorm__ini_parse(texts[t], lens[t], "names", &ini, err, sizeof err) != DORM_OK) continue;
    for (size_t i = 0; i < ini->nsections && n < 4; i++) {
      const char *s = ini->sections[i].name;
      if (t == 0 && strncmp(s, "profile", 7) == 0 && blank(s[7])) {
        s += 7;
        while (blank(*s)) s++;
      } else if (t == 0 && strcmp(s, "default") != 0) {
        continue;
      }
      if (strlen(s) < 64) snprintf(names[n++], 64, "%s", s);
    }
    dorm__ini_free(ini);
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) setup();
  const char *text = (const char *)data;
  size_t clen = size;
  const char *creds = NULL;
  size_t crlen = 0;
  for (size_t i = 0; i + sizeof MARKER - 1 <= size; i++) {
    if ((i == 0 || text[i - 1] == '\n') && memcmp(text + i, MARKER, sizeof MARKER - 1) == 0) {
      clen = i;
      creds = text + i + sizeof MARKER - 1;
      crlen = size - i - (sizeof MARKER - 1);
      break;
    }
  }
  ini_check(text, clen);
  if (creds) ini_check(creds, crlen);

  write_file(config_path, text, clen);
  if (creds) write_file(creds_path, creds, crlen);
  else unlink(creds_path);
  resolve(NULL);
  char names[4][64];
  size_t n = profile_names(text, clen, creds, crlen, names);
  for (size_t i = 0; i < n; i++) resolve(names[i]);
  return 0;
}
