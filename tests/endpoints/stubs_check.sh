#!/usr/bin/env bash
# dormc gen --stubs DIR writes DIR/<name>_handlers.c once and never again:
# the file is the user's from its first write on.
#   stubs_check.sh DORMC SOURCE_DIR WORK_DIR
set -euo pipefail
dormc=$1 src=$2 work=$3
schema=$src/schemas/endpoints.dorm
rm -rf "$work"
mkdir -p "$work"
fail() {
  echo "stubs_check: $*" >&2
  exit 1
}

# 1. First run: written, and said so.
out=$("$dormc" gen --out "$work/gen" --stubs "$work/handlers" "$schema")
stubs=$work/handlers/endpoints_handlers.c
[ -f "$stubs" ] || fail "no $stubs after the first run"
[[ $out == *"wrote $stubs"* ]] || fail "first run did not say it wrote $stubs: $out"
grep -q 'dorm_status reports_Echo_handle(' "$stubs" || fail "$stubs has no Echo handler"
grep -q 'return dorm_stream_fail(ctx, "HANDLER_FAILED", false, "not implemented");' "$stubs" ||
  fail "$stubs does not fail with HANDLER_FAILED"
[ "$(grep -c 'TODO: implement' "$stubs")" -eq 3 ] || fail "$stubs should have a TODO per endpoint"

# 2. The user fills it in.
sed -i 's|/\* TODO: implement Echo. \*/|res->text = req->text; return DORM_OK; /* mine */|' "$stubs"
echo '/* my own helper */' >>"$stubs"
cp "$stubs" "$work/mine.c"
grep -q 'mine' "$stubs" || fail "the edit did not apply"

# 3. Every later run keeps it byte for byte (also with an older mtime, also
#    when the schema changes), and says so; the generated code is rewritten.
touch -d '2001-01-01' "$stubs"
rm "$work/gen/endpoints_endpoints.c"
out=$("$dormc" gen --out "$work/gen" --stubs "$work/handlers" "$schema")
cmp -s "$stubs" "$work/mine.c" || fail "the second run changed $stubs"
[[ $out == *"kept $stubs"* ]] || fail "the second run did not say it kept $stubs: $out"
[ -f "$work/gen/endpoints_endpoints.c" ] || fail "the second run did not write the endpoint code"
sed 's/endpoint Echo sync/endpoint Echo2 sync/' "$schema" >"$work/endpoints.dorm"
"$dormc" gen --out "$work/gen" --stubs "$work/handlers" "$work/endpoints.dorm" >/dev/null
cmp -s "$stubs" "$work/mine.c" || fail "a run on a changed schema changed $stubs"
grep -q 'reports_Echo2_handle' "$work/gen/endpoints_endpoints.h" || fail "the changed schema was not generated"

# 3b. A kept file that lacks a handler of the schema (an endpoint added or
#     renamed since) is named in a note, and only that one: the build would
#     fail to link on it.
out=$("$dormc" gen --out "$work/gen" --stubs "$work/handlers" "$work/endpoints.dorm")
[[ $out == *"note: $stubs has no reports_Echo2_handle (endpoint Echo2): write it (its prototype is in endpoints_endpoints.h)"* ]] ||
  fail "no note for the missing Echo2 handler: $out"
[ "$(grep -c 'note:' <<<"$out")" -eq 1 ] || fail "a note for a handler that is there: $out"
out=$("$dormc" gen --out "$work/gen" --stubs "$work/handlers" "$schema")
[[ $out != *"note:"* ]] || fail "a note with every handler there: $out"

# 4. A read-only handlers file is kept too (nothing is opened for writing).
chmod a-w "$stubs"
"$dormc" gen --out "$work/gen" --stubs "$work/handlers" "$schema" >/dev/null || fail "a read-only stub failed the run"
chmod u+w "$stubs"
cmp -s "$stubs" "$work/mine.c" || fail "$stubs changed"

# 5. A schema without endpoints gets no handlers file and no endpoint code.
"$dormc" gen --out "$work/gen" --stubs "$work/handlers" "$src/schemas/shop.dorm" >/dev/null
[ ! -e "$work/handlers/shop_handlers.c" ] || fail "shop.dorm has no endpoints but got a handlers file"
[ ! -e "$work/gen/shop_endpoints.h" ] || fail "shop.dorm has no endpoints but got endpoint code"

# 6. --stubs needs a value.
if "$dormc" gen --out "$work/gen" "$schema" --stubs 2>/dev/null; then fail "--stubs without a value was accepted"; fi
set +e
"$dormc" gen --out "$work/gen" --stubs 2>"$work/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--stubs without a value: exit $rc, want 2"
grep -q -- '--stubs needs a value' "$work/err" || fail "--stubs without a value: $(cat "$work/err")"

# 7. --stubs without --out writes the handlers file and nothing else (a
#    project built with dorm_generate() runs it once in its sources: generated
#    headers there would shadow the build's own), and keeps it afterwards.
mkdir -p "$work/own"
(cd "$work/own" && "$dormc" gen --stubs . "$schema") >"$work/out" || fail "--stubs alone failed: $(cat "$work/out")"
[ "$(ls "$work/own")" = "endpoints_handlers.c" ] || fail "--stubs alone wrote more than the handlers: $(ls "$work/own")"
grep -q 'wrote ./endpoints_handlers.c' "$work/out" || fail "--stubs alone did not say what it wrote: $(cat "$work/out")"
echo '/* mine */' >>"$work/own/endpoints_handlers.c"
cp "$work/own/endpoints_handlers.c" "$work/own.c"
(cd "$work/own" && "$dormc" gen --stubs . "$schema") >"$work/out" || fail "--stubs alone, second run failed"
cmp -s "$work/own/endpoints_handlers.c" "$work/own.c" || fail "--stubs alone changed the handlers file"
grep -q 'kept ./endpoints_handlers.c' "$work/out" || fail "--stubs alone did not say it kept the file: $(cat "$work/out")"
set +e
"$dormc" gen --stubs "$work/own" "$src/schemas/shop.dorm" 2>"$work/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--stubs alone on a schema without endpoints: exit $rc, want 2"
grep -q 'shop.dorm declares no endpoints: no handlers to write' "$work/err" || fail "no endpoints: $(cat "$work/err")"
[ "$(ls "$work/own")" = "endpoints_handlers.c" ] || fail "a schema without endpoints wrote $(ls "$work/own")"
echo "stubs_check: ok"
