/* Names shared by the phases: C's reserved words (a field may not be one)
 * and the snake_case conversion of `naming snake_case`. */
#include <ctype.h>
#include <string.h>

#include "internal.h"

bool dormc_is_c_keyword(const char *name) {
  static const char *const kw[] = {
      "auto",     "break",    "case",     "char",    "const",    "continue",  "default",  "do",
      "double",   "else",     "enum",     "extern",  "float",    "for",       "goto",     "if",
      "inline",   "int",      "long",     "register", "restrict", "return",   "short",    "signed",
      "sizeof",   "static",   "struct",   "switch",  "typedef",  "union",     "unsigned", "void",
      "volatile", "while",    "_Alignas", "_Alignof", "_Atomic", "_Bool",     "_Complex", "_Generic",
      "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local", "bool", "true", "false",
  };
  for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
    if (strcmp(kw[i], name) == 0) return true;
  return false;
}

const char *dormc_snake_case(arena *a, const char *name) {
  size_t len = strlen(name);
  char *out = arena_alloc(a, len * 2 + 1);
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)name[i];
    if (isupper(ch)) {
      bool prev_lower = i > 0 && (islower((unsigned char)name[i - 1]) || isdigit((unsigned char)name[i - 1]));
      bool acronym_end = i > 0 && isupper((unsigned char)name[i - 1]) && i + 1 < len &&
                         islower((unsigned char)name[i + 1]);
      if ((prev_lower || acronym_end) && o > 0 && out[o - 1] != '_') out[o++] = '_';
      out[o++] = (char)tolower(ch);
    } else {
      out[o++] = (char)ch;
    }
  }
  out[o] = '\0';
  return out;
}
