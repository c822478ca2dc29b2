/* web: the static files of --web DIR, served on the streamer's own port
 * next to the WebSocket endpoint (a page that talks to the streamer needs
 * no other server, and no cross-origin rules).
 *
 * Only GET of regular files under DIR: "/" and ".../" mean index.html; a
 * path with a segment that is empty, "." or "..", or starts with '.', or has
 * a backslash or a control character, is refused (404, like a missing file:
 * nothing about DIR's layout is told). Symlinks inside DIR are followed: DIR
 * is the operator's (the demo's page links the JavaScript client that way).
 * Files are read whole (at most 16 MiB) and answered with a Content-Type by
 * extension. */
#include "streamer_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WEB_MAX_FILE (16L * 1024 * 1024)

static const struct {
  const char *ext;
  const char *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".ts", "text/plain; charset=utf-8"},
};

static const char *mime_of(const char *path) {
  size_t n = strlen(path);
  for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++) {
    size_t e = strlen(mime_types[i].ext);
    if (n >= e && strcmp(path + n - e, mime_types[i].ext) == 0) return mime_types[i].type;
  }
  return "application/octet-stream";
}

/* Whether every segment of the URL path is a plain name. */
static bool safe_path(const char *uri) {
  if (uri[0] != '/') return false;
  const char *seg = uri + 1;
  for (const char *p = uri + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      size_t n = (size_t)(p - seg);
      /* an empty last segment is a directory's index; elsewhere refused */
      if (n == 0 && *p != '\0') return false;
      if (n > 0 && seg[0] == '.') return false; /* ".", "..", hidden files */
      if (*p == '\0') return true;
      seg = p + 1;
    } else if (*p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f) {
      return false;
    }
  }
}

int dorm__st_web_file(const char *dir, const char *uri, char **body, size_t *len, const char **mime) {
  *body = NULL;
  *len = 0;
  *mime = "application/json";
  if (!dir || !uri || !safe_path(uri) || strlen(uri) > 1024) return 404;
  size_t dl = strlen(dir), ul = strlen(uri);
  bool index = uri[ul - 1] == '/';
  char *path = malloc(dl + ul + sizeof "index.html");
  if (!path) return 500;
  snprintf(path, dl + ul + sizeof "index.html", "%s%s%s", dir, uri, index ? "index.html" : "");
  struct stat st;
  FILE *f = NULL;
  int status = 404;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > WEB_MAX_FILE || !(f = fopen(path, "rb"))) goto out;
  char *buf = malloc((size_t)st.st_size + 1);
  if (!buf) {
    status = 500;
    goto out;
  }
  size_t got = fread(buf, 1, (size_t)st.st_size, f);
  if (got != (size_t)st.st_size) {
    free(buf);
    status = 500;
    goto out;
  }
  buf[got] = '\0';
  *body = buf;
  *len = got;
  *mime = mime_of(path);
  status = 200;
out:
  if (f) fclose(f);
  free(path);
  return status;
}

bool dorm__st_web_dir_ok(const char *dir, char *why, size_t whycap) {
  struct stat st;
  if (stat(dir, &st) != 0) {
    snprintf(why, whycap, "--web %s: %s", dir, strerror(errno));
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    snprintf(why, whycap, "--web %s: not a directory", dir);
    return false;
  }
  return true;
}
