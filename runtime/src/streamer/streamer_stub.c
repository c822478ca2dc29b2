/* Placeholder so the layer has a source until its files land. */
#include "streamer_internal.h"

#include <string.h>

bool dorm_identity_has_scope(const dorm_identity *id, const char *scope) {
  if (!id || !scope) return false;
  for (size_t i = 0; i < id->nscopes; i++)
    if (id->scopes[i] && strcmp(id->scopes[i], scope) == 0) return true;
  return false;
}
