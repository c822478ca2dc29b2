/* Diagnostics: building them (with notes), the error limit, and the default
 * gcc-style printer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *source_line(const dormc_source *s, uint32_t line, size_t *len) {
  if (!s || line == 0 || line > s->nlines) return NULL;
  uint32_t start = s->line_starts[line - 1];
  uint32_t end = start;
  while (end < s->len && s->text[end] != '\n') end++;
  if (end > start && s->text[end - 1] == '\r') end--;
  *len = end - start;
  return s->text + start;
}

static void fill_line(const dormc_compilation *c, dormc_loc loc, const char **text, size_t *len) {
  *text = NULL;
  *len = 0;
  if (!loc.file) return;
  const dormc_source *s = compilation_find_source(c, loc.file);
  if (s) *text = source_line(s, loc.line, len);
}

typedef struct held {
  dormc_severity sev;
  dormc_loc loc;
  char *msg;
  pending_note *notes;
  size_t nnotes;
  unsigned rank;
  size_t seq;
} held;

static void emit(dormc_compilation *c) {
  if (!c->has_pending) return;
  if (c->hidden_notes) {
    c->pending_notes[DORMC_MAX_NOTES - 1].message =
        arena_printf(&c->arena, "and %u more places", c->hidden_notes + 1);
    c->hidden_notes = 0;
  }
  if (c->buffering) {
    held *h = arena_alloc(&c->arena, sizeof *h);
    h->sev = c->pending_sev;
    h->loc = c->pending_loc;
    h->msg = c->pending_msg;
    h->nnotes = c->npending_notes;
    if (h->nnotes) {
      h->notes = arena_alloc(&c->arena, h->nnotes * sizeof *h->notes);
      memcpy(h->notes, c->pending_notes, h->nnotes * sizeof *h->notes);
    }
    const dormc_source *src = h->loc.file ? compilation_find_source(c, h->loc.file) : NULL;
    h->rank = src ? src->rank : UINT32_MAX;
    h->seq = c->buffered->n;
    vec_push(&c->arena, c->buffered, h);
    c->has_pending = false;
    c->npending_notes = 0;
    return;
  }
  c->has_pending = false;
  dormc_severity sev = c->pending_sev;
  if (sev == DORMC_SEV_ERROR) c->errors++;
  else if (sev == DORMC_SEV_WARNING) c->warnings++;
  if (c->stopped) return;
  if (sev == DORMC_SEV_WARNING && c->warnings > DORMC_MAX_WARNINGS) {
    c->hidden_warnings++;
    return;
  }
  unsigned limit = c->opts.max_errors;
  if (sev == DORMC_SEV_ERROR && c->errors > limit) {
    c->stopped = true;
    if (c->opts.on_diag) {
      char msg[96];
      snprintf(msg, sizeof msg, "too many errors; stopping after %u", limit);
      dormc_diagnostic d = {.severity = DORMC_SEV_ERROR, .message = msg};
      c->opts.on_diag(&d, c->opts.diag_user);
    }
    return;
  }
  if (!c->opts.on_diag) return;
  dormc_diagnostic d = {.severity = sev, .loc = c->pending_loc, .message = c->pending_msg};
  fill_line(c, d.loc, &d.line_text, &d.line_len);
  dormc_note *notes = NULL;
  if (c->npending_notes) {
    notes = arena_alloc(&c->arena, c->npending_notes * sizeof *notes);
    for (size_t i = 0; i < c->npending_notes; i++) {
      notes[i].loc = c->pending_notes[i].loc;
      notes[i].message = c->pending_notes[i].message;
      fill_line(c, notes[i].loc, &notes[i].line_text, &notes[i].line_len);
    }
  }
  d.notes = notes;
  d.nnotes = c->npending_notes;
  c->opts.on_diag(&d, c->opts.diag_user);
}

void diag_flush(dormc_compilation *c) { emit(c); }

void diag_hold(dormc_compilation *c) {
  emit(c);
  c->buffered = vec_new(&c->arena);
  c->buffering = true;
}

static int held_cmp(const void *pa, const void *pb) {
  const held *a = *(const held *const *)pa, *b = *(const held *const *)pb;
  if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
  /* Errors before warnings: a warning is often the echo of an error (a
   * misspelt type leaves its enum "never used"), so the cause comes first. */
  if (a->sev != b->sev) return a->sev < b->sev ? -1 : 1;
  if (a->loc.offset != b->loc.offset) return a->loc.offset < b->loc.offset ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void diag_release(dormc_compilation *c) {
  emit(c);
  c->buffering = false;
  if (!c->buffered) return;
  vec *v = c->buffered;
  c->buffered = NULL;
  if (v->n > 1) qsort(v->items, v->n, sizeof *v->items, held_cmp);
  for (size_t i = 0; i < v->n; i++) {
    held *h = v->items[i];
    c->has_pending = true;
    c->pending_sev = h->sev;
    c->pending_loc = h->loc;
    c->pending_msg = h->msg;
    c->pending_notes = h->notes;
    c->npending_notes = h->nnotes;
    c->cap_pending_notes = h->nnotes;
    emit(c);
  }
  if (c->hidden_warnings && !c->stopped && c->opts.on_diag) {
    char msg[96];
    snprintf(msg, sizeof msg, "%u more warnings not shown", c->hidden_warnings);
    dormc_diagnostic d = {.severity = DORMC_SEV_WARNING, .message = msg};
    c->opts.on_diag(&d, c->opts.diag_user);
    c->hidden_warnings = 0;
  }
}

static void start(dormc_compilation *c, dormc_severity sev, dormc_loc loc, const char *fmt, va_list ap) {
  emit(c);
  c->has_pending = true;
  c->pending_sev = sev;
  c->pending_loc = loc;
  c->pending_msg = c->stopped ? NULL : arena_vprintf(&c->arena, fmt, ap);
  c->npending_notes = 0;
  c->hidden_notes = 0;
}

void diag_error(dormc_compilation *c, dormc_loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  start(c, DORMC_SEV_ERROR, loc, fmt, ap);
  va_end(ap);
}

void diag_warning(dormc_compilation *c, dormc_loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  start(c, DORMC_SEV_WARNING, loc, fmt, ap);
  va_end(ap);
}

void diag_note(dormc_compilation *c, dormc_loc loc, const char *fmt, ...) {
  if (!c->has_pending || c->stopped) return;
  if (c->npending_notes >= DORMC_MAX_NOTES) {
    if (++c->hidden_notes == 1) {
      /* The last slot becomes the summary, rewritten when emitted. */
      dormc_loc none = {0};
      c->pending_notes[DORMC_MAX_NOTES - 1].loc = none;
    }
    return;
  }
  if (c->npending_notes == c->cap_pending_notes) {
    size_t cap = c->cap_pending_notes ? c->cap_pending_notes * 2 : 4;
    pending_note *bigger = arena_alloc(&c->arena, cap * sizeof *bigger);
    if (c->npending_notes) memcpy(bigger, c->pending_notes, c->npending_notes * sizeof *bigger);
    c->pending_notes = bigger;
    c->cap_pending_notes = cap;
  }
  va_list ap;
  va_start(ap, fmt);
  pending_note *n = &c->pending_notes[c->npending_notes++];
  n->loc = loc;
  n->message = arena_vprintf(&c->arena, fmt, ap);
  va_end(ap);
}

void dormc_report(dormc_compilation *c, dormc_severity severity, dormc_loc loc, const char *message) {
  if (!c || !message) return;
  if (severity == DORMC_SEV_WARNING) diag_warning(c, loc, "%s", message);
  else diag_error(c, loc, "%s", message);
  diag_flush(c);
}

/* ---- printing ---------------------------------------------------------- */

static const char *sev_name(dormc_severity s) {
  switch (s) {
  case DORMC_SEV_ERROR: return "error";
  case DORMC_SEV_WARNING: return "warning";
  case DORMC_SEV_NOTE: return "note";
  }
  return "error";
}

/* The source line with tabs expanded (stops of 8) and control or invalid
 * bytes shown as '?', then the caret line under columns [col, end_col). */
/* Long lines are shown as a window of this many columns around the caret. */
#define EXCERPT_WIDTH 160u
#define EXCERPT_BEFORE 60u

static size_t byte_of_col(const char *text, size_t len, uint32_t col) {
  uint32_t c = 1;
  for (size_t i = 0; i < len; i++) {
    if (((unsigned char)text[i] & 0xC0) == 0x80) continue;
    if (c == col) return i;
    c++;
  }
  return len;
}

static void print_excerpt(strbuf *b, uint32_t line, const char *text, size_t len, uint32_t col, uint32_t end_col) {
  char num[16];
  int w = snprintf(num, sizeof num, "%u", line);
  if (w < 4) w = 4;
  sb_printf(b, " %*u | ", w, line);
  uint32_t lead = 0; /* display columns taken by a leading "..." */
  bool cut_after = false;
  if (len > EXCERPT_WIDTH) {
    uint32_t first = col > EXCERPT_BEFORE ? col - EXCERPT_BEFORE : 1;
    size_t from = byte_of_col(text, len, first);
    size_t to = byte_of_col(text, len, first + EXCERPT_WIDTH);
    if (first > 1) {
      sb_puts(b, "...");
      lead = 3;
    }
    cut_after = to < len;
    text += from;
    len = to - from;
    col -= first - 1;
    end_col = end_col > first - 1 ? end_col - (first - 1) : col + 1;
    if (end_col > EXCERPT_WIDTH + 1) end_col = EXCERPT_WIDTH + 1;
  }
  uint32_t c = 1, disp = 0, caret_start = 0, caret_end = 0;
  bool started = false, ended = false;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)text[i];
    if ((ch & 0xC0) == 0x80) {
      sb_putc(b, (char)ch);
      continue;
    }
    if (c == col) {
      caret_start = disp;
      started = true;
    }
    if (c == end_col) {
      caret_end = disp;
      ended = true;
    }
    if (ch == '\t') {
      uint32_t next = (disp / 8 + 1) * 8;
      while (disp < next) {
        sb_putc(b, ' ');
        disp++;
      }
    } else {
      if (ch < 0x20 || ch == 0x7F) sb_putc(b, '?');
      else if (ch >= 0x80) {
        /* Print a valid multibyte sequence whole; an invalid lead byte as '?'. */
        size_t n = ch >= 0xF0 ? 4 : ch >= 0xE0 ? 3 : ch >= 0xC2 ? 2 : 0;
        bool ok = n && ch <= 0xF4 && i + n <= len;
        for (size_t k = 1; ok && k < n; k++)
          if (((unsigned char)text[i + k] & 0xC0) != 0x80) ok = false;
        if (ok) sb_putc(b, (char)ch);
        else {
          sb_putc(b, '?');
          /* Skip the continuation bytes that would otherwise be printed raw. */
          while (i + 1 < len && ((unsigned char)text[i + 1] & 0xC0) == 0x80) i++;
        }
      } else {
        sb_putc(b, (char)ch);
      }
      disp++;
    }
    c++;
  }
  /* A column past the end of the line (a missing ';' at the end) is shown there. */
  if (!started) caret_start = disp + (col > c ? col - c : 0);
  if (!ended) caret_end = disp + (end_col > c ? end_col - c : 0);
  if (caret_end <= caret_start) caret_end = caret_start + 1;
  if (caret_start > disp) caret_start = disp;
  if (caret_end > disp + 1 && caret_end > caret_start + 1) caret_end = disp > caret_start ? disp : caret_start + 1;
  if (cut_after) sb_puts(b, "...");
  sb_putc(b, '\n');
  sb_printf(b, " %*s | ", w, "");
  for (uint32_t i = 0; i < caret_start + lead; i++) sb_putc(b, ' ');
  sb_putc(b, '^');
  for (uint32_t i = caret_start + 1; i < caret_end; i++) sb_putc(b, '~');
  sb_putc(b, '\n');
}

static void format_one(strbuf *b, dormc_severity sev, dormc_loc loc, const char *msg, const char *text,
                       size_t len) {
  if (loc.file)
    sb_printf(b, "%s:%u:%u: %s: %s\n", loc.file, loc.line, loc.col, sev_name(sev), msg ? msg : "");
  else
    sb_printf(b, "dormc: %s: %s\n", sev_name(sev), msg ? msg : "");
  if (loc.file && text) {
    uint32_t end_col = loc.end_line == loc.line ? loc.end_col : UINT32_MAX;
    if (end_col == UINT32_MAX) {
      end_col = 1;
      for (size_t i = 0; i < len; i++)
        if (((unsigned char)text[i] & 0xC0) != 0x80) end_col++;
      if (end_col <= loc.col) end_col = loc.col + 1;
    }
    print_excerpt(b, loc.line, text, len, loc.col, end_col);
  }
}

char *dormc_diag_format(const dormc_diagnostic *d) {
  strbuf b = {0};
  format_one(&b, d->severity, d->loc, d->message, d->line_text, d->line_len);
  for (size_t i = 0; i < d->nnotes; i++) {
    const dormc_note *n = &d->notes[i];
    format_one(&b, DORMC_SEV_NOTE, n->loc, n->message, n->line_text, n->line_len);
  }
  return sb_take(&b, NULL);
}

void dormc_diag_fprint(const dormc_diagnostic *d, void *file) {
  FILE *f = file ? (FILE *)file : stderr;
  char *text = dormc_diag_format(d);
  if (text) {
    fputs(text, f);
    free(text);
  } else {
    fprintf(f, "dormc: %s\n", d->message ? d->message : "out of memory");
  }
  fflush(f);
}
