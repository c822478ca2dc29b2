/* aws_xml: the text of named elements of an AWS XML answer, with expat. */
#include "aws_xml.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core_internal.h"

#define MAX_DEPTH 32
#define MAX_PATH 512

typedef struct xml_state {
  XML_Parser parser;
  const char *const *paths;
  size_t n;
  char **values;
  char path[MAX_PATH];       /* the current element's path from the root */
  size_t path_len;
  size_t stack[MAX_DEPTH];   /* path_len before each open element */
  int depth;
  int capturing;             /* index into paths + 1 while inside a wanted element, else 0 */
  int capture_depth;
  dorm__buf text;
  bool doctype, too_deep, oom;
} xml_state;

static void on_start(void *user, const XML_Char *name, const XML_Char **attrs) {
  (void)attrs;
  xml_state *s = user;
  if (s->depth >= MAX_DEPTH) {
    s->too_deep = true;
    XML_StopParser(s->parser, XML_FALSE);
    return;
  }
  s->stack[s->depth++] = s->path_len;
  size_t nl = strlen(name);
  if (s->path_len + nl + 2 > sizeof s->path) {
    s->too_deep = true;
    XML_StopParser(s->parser, XML_FALSE);
    return;
  }
  if (s->path_len) s->path[s->path_len++] = '/';
  memcpy(s->path + s->path_len, name, nl + 1);
  s->path_len += nl;
  if (s->capturing) return;
  for (size_t i = 0; i < s->n; i++) {
    if (!s->values[i] && strcmp(s->path, s->paths[i]) == 0) {
      s->capturing = (int)i + 1;
      s->capture_depth = s->depth;
      dorm__buf_reset(&s->text);
      break;
    }
  }
}

static void on_end(void *user, const XML_Char *name) {
  (void)name;
  xml_state *s = user;
  if (s->capturing && s->depth == s->capture_depth) {
    size_t i = (size_t)s->capturing - 1;
    s->capturing = 0;
    if (!dorm__buf_ok(&s->text) && s->text.oom) {
      s->oom = true;
      XML_StopParser(s->parser, XML_FALSE);
      return;
    }
    s->values[i] = strdup(dorm__buf_text(&s->text));
    dorm__buf_wipe(&s->text);
    dorm__buf_init(&s->text, DORM_XML_MAX_TEXT);
    if (!s->values[i]) {
      s->oom = true;
      XML_StopParser(s->parser, XML_FALSE);
      return;
    }
  }
  if (s->depth > 0) s->path_len = s->stack[--s->depth];
  s->path[s->path_len] = '\0';
}

static void on_text(void *user, const XML_Char *text, int len) {
  xml_state *s = user;
  /* Text past the bound is cut: nothing AWS sends that we read is that long. */
  if (s->capturing && len > 0) (void)dorm__buf_put(&s->text, text, (size_t)len);
}

static void on_doctype(void *user, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int has_internal_subset) {
  (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
  xml_state *s = user;
  s->doctype = true;
  XML_StopParser(s->parser, XML_FALSE);
}

void dorm__xml_free_values(char **values, size_t n) {
  for (size_t i = 0; i < n; i++) {
    dorm__secret_free(values[i]);
    values[i] = NULL;
  }
}

dorm_status dorm__xml_find(const char *body, size_t len, const char *const *paths, size_t n,
                          char **values, char *errbuf, size_t errcap) {
  for (size_t i = 0; i < n; i++) values[i] = NULL;
  xml_state s;
  memset(&s, 0, sizeof s);
  s.paths = paths;
  s.n = n;
  s.values = values;
  dorm__buf_init(&s.text, DORM_XML_MAX_TEXT);
  s.parser = XML_ParserCreate("UTF-8");
  if (!s.parser) {
    dorm__set_err(errbuf, errcap, "out of memory (XML parser)");
    return DORM_ERR_NO_MEMORY;
  }
  XML_SetUserData(s.parser, &s);
  XML_SetElementHandler(s.parser, on_start, on_end);
  XML_SetCharacterDataHandler(s.parser, on_text);
  XML_SetStartDoctypeDeclHandler(s.parser, on_doctype);
  dorm_status st = DORM_OK;
  if (len > (size_t)0x7fffffff) len = 0x7fffffff;
  enum XML_Status xs = XML_Parse(s.parser, body ? body : "", (int)len, XML_TRUE);
  if (s.oom) {
    dorm__set_err(errbuf, errcap, "out of memory (XML)");
    st = DORM_ERR_NO_MEMORY;
  } else if (s.doctype) {
    dorm__set_err(errbuf, errcap, "XML with a DOCTYPE is refused");
    st = DORM_ERR_BAD_RESPONSE;
  } else if (s.too_deep) {
    dorm__set_err(errbuf, errcap, "XML nested too deeply");
    st = DORM_ERR_BAD_RESPONSE;
  } else if (xs != XML_STATUS_OK) {
    dorm__set_err(errbuf, errcap, "not well-formed XML (line %lu: %s)",
                  (unsigned long)XML_GetCurrentLineNumber(s.parser),
                  XML_ErrorString(XML_GetErrorCode(s.parser)));
    st = DORM_ERR_BAD_RESPONSE;
  }
  XML_ParserFree(s.parser);
  dorm__buf_wipe(&s.text);
  if (st != DORM_OK) dorm__xml_free_values(values, n);
  return st;
}
