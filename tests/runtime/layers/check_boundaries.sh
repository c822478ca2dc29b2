#!/usr/bin/env bash
# Across layers only boundary headers are included: a file of runtime/src/<layer>/
# may include its own folder's headers, public headers (<dorm/...>, "dorm/..."),
# system headers, and the boundary header of a layer below it
# (core_internal.h, aws_internal.h, ddb_internal.h, model_internal.h,
# plan_internal.h). The include path already keeps upper layers out of reach;
# this keeps a lower layer's private headers private.
#   check_boundaries.sh RUNTIME_SRC_DIR
set -euo pipefail
src=$1
boundaries="core_internal.h aws_internal.h ddb_internal.h model_internal.h plan_internal.h engine_internal.h streamer_internal.h"
status=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  while IFS= read -r inc; do
    [ -n "$inc" ] || continue
    case "$inc" in dorm/*) continue ;; esac
    [ -f "$dir/$inc" ] && continue
    # generated from schemas/streamer.dorm into the build tree for the streamer layer
    [ "$inc" = streamer_models.h ] && [ "$(basename "$dir")" = streamer ] && continue
    case " $boundaries " in *" $inc "*) continue ;; esac
    echo "${file#"$src"/}: includes \"$inc\", a header private to another layer (include that layer's boundary header)"
    status=1
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
done < <(find "$src" -name '*.[ch]' | sort)
[ $status -eq 0 ] && echo "layers_boundaries: every cross-layer include is a boundary header"
exit $status
