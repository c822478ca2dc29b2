#!/usr/bin/env bash
# man_check.sh PROGRAM MANPAGE
#
# Checks that the man page MANPAGE still says what PROGRAM's own help says, so
# the two cannot drift apart:
#
#   - every non-empty line of `PROGRAM --help` appears somewhere in the
#     rendered page;
#   - for every command in the "commands:" list of `PROGRAM --help` (except
#     `help`, whose text is `PROGRAM --help` itself), every non-empty line of
#     `PROGRAM help CMD` appears in that command's subsection (the .SS headed
#     CMD or "PROGRAM CMD");
#   - the version number that `PROGRAM --version` prints appears in the page
#     footer (the .TH line);
#   - groff renders the page without a warning (-ww), and no option dash in
#     the source is a bare "-" (it must be "\-", or it renders as a hyphen).
#
# "Appears" means: as a sequence of whole words in the rendered text, after
# both sides are normalised (runs of white space become one space; U+2010,
# U+2011 and U+2212 become "-"; U+2018 and U+2019 become ` and '), so the page
# may reflow the help text freely. A leading "usage:" is dropped from help
# lines: the page's SYNOPSIS and subsection openings say that. A line break
# after a hyphen inside a word is joined back.
#
# Rendering: groff -man -Tutf8 -ww -rHY=0 -P-cbou, else `man -l`. Prints each
# missing line with the command it came from; exit 0 when nothing is missing,
# 1 when something is, 2 on a usage or set-up error.
set -u

if [ $# -ne 2 ]; then
  echo "usage: man_check.sh PROGRAM MANPAGE" >&2
  exit 2
fi
prog=$1
page=$2
name=$(basename "$prog")
pagename=$(basename "$page")
[ -x "$prog" ] || { echo "man_check: $prog is not an executable" >&2; exit 2; }
[ -r "$page" ] || { echo "man_check: cannot read $page" >&2; exit 2; }

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
  echo "man_check: $pagename: $*"
  failed=1
}

# --- render -----------------------------------------------------------------
if command -v groff >/dev/null 2>&1; then
  groff -man -Tutf8 -ww -rHY=0 -P-cbou "$page" >"$tmp/rendered" 2>"$tmp/warnings"
  rc=$?
elif command -v man >/dev/null 2>&1; then
  LC_ALL=C.UTF-8 MANWIDTH=80 MANROFFOPT="-ww -rHY=0" MAN_KEEP_FORMATTING='' \
    man -l -P cat "$page" 2>"$tmp/warnings" | col -bx >"$tmp/rendered"
  rc=${PIPESTATUS[0]}
else
  echo "man_check: neither groff nor man is installed (apt-get install groff-base)" >&2
  exit 2
fi
if [ "$rc" -ne 0 ]; then
  fail "rendering failed (exit $rc)"
fi
if [ -s "$tmp/warnings" ]; then
  fail "the formatter warns:"
  sed 's/^/    /' "$tmp/warnings"
fi
if ! grep -q '[^[:space:]]' "$tmp/rendered"; then
  fail "renders to nothing"
  exit 1
fi

# --- bare option dashes in the source ------------------------------------------
# "-" is a hyphen (U+2010 in UTF-8 output) and "\-" a minus/dash: an option
# written with "-" cannot be searched for or copied from the page. Flags a "-"
# that starts a word: at the start of a line, after white space or one of
# [ ( | ", or right after a font change \fB \fI \fR \fP. Comments are skipped.
LC_ALL=C grep -nE '(^|[[:space:][(|"]|\\f[BIRP])-' "$page" | LC_ALL=C grep -vE '^[0-9]+:\.\\"' \
  >"$tmp/dashes"
if [ -s "$tmp/dashes" ]; then
  fail "option dashes written as a bare \"-\" (write \"\\-\"):"
  sed 's/^/    line /' "$tmp/dashes"
fi

# --- normalisation ----------------------------------------------------------
# map_chars: hyphen and quote forms to ASCII, no-break spaces and tabs to
# spaces; the indentation stays (it tells headings from body text).
# normalise: map_chars, then runs of white space to one space, ends trimmed.
map_chars() {
  LC_ALL=C sed -e 's/\xe2\x80\x90/-/g; s/\xe2\x80\x91/-/g; s/\xe2\x88\x92/-/g' \
    -e "s/\\xe2\\x80\\x98/\`/g; s/\\xe2\\x80\\x99/'/g" \
    -e 's/\xc2\xa0/ /g; s/\t/        /g'
}
normalise() {
  map_chars | LC_ALL=C sed -e 's/[[:space:]][[:space:]]*/ /g; s/^ //; s/ $//'
}

# The page as sections: one line per section, "HEADING<TAB>WORDS", where a
# heading is a rendered line indented less than body text (.SH at column 0,
# .SS at column 3; body text starts at column 7), the page header and footer
# included. WORDS is the section's text, heading first, as one line of words.
# A line ending in "<letter or digit>-" continues without a space.
LC_ALL=C awk '
  function flush() { if (have) print head "\t" words }
  function add(t) {
    if (words == "") words = t
    else if (words ~ /[A-Za-z0-9]-$/) words = words t
    else words = words " " t
  }
  {
    match($0, /^ */)
    indent = RLENGTH
    text = $0
    gsub(/[[:space:]]+/, " ", text)
    sub(/^ /, "", text)
    sub(/ $/, "", text)
    if (text == "") next
    if (indent < 5) { flush(); head = text; words = ""; have = 1 }
    add(text)
  }
  END { flush() }
' <(map_chars <"$tmp/rendered") >"$tmp/sections"
cut -f2 "$tmp/sections" | tr '\n' ' ' >"$tmp/whole"
echo >>"$tmp/whole"

# check_lines ORIGIN SCOPEFILE < help text: every normalised help line must be
# a word sequence of the one-line text in SCOPEFILE.
check_lines() {
  local origin=$1 scope=$2
  normalise | sed -e 's/^usage: //; s/^usage:$//' | grep -v '^$' >"$tmp/lines"
  LC_ALL=C awk -v origin="$origin" -v page="$pagename" '
    NR == FNR { text = " " $0 " "; next }
    index(text, " " $0 " ") == 0 {
      printf "man_check: %s: missing (from %s): %s\n", page, origin, $0
      missing = 1
    }
    END { exit missing }
  ' "$scope" "$tmp/lines" || failed=1
}

# --- PROGRAM --help -----------------------------------------------------------
if ! "$prog" --help >"$tmp/help" 2>"$tmp/help.err"; then
  fail "'$name --help' failed:"
  sed 's/^/    /' "$tmp/help.err"
  exit 1
fi
check_lines "'$name --help'" "$tmp/whole" <"$tmp/help"

# --- PROGRAM help CMD, for every listed command --------------------------------
# The list is the indented lines after "commands:" up to the first blank or
# unindented line; parse the raw text so that indentation is still there.
commands=$(awk '
  /^commands:[[:space:]]*$/ { inlist = 1; next }
  inlist && /^[[:space:]]+[^[:space:]]/ { print $1; next }
  inlist { exit }
' "$tmp/help")
if [ -z "$commands" ]; then
  fail "no \"commands:\" list in '$name --help': nothing to compare"
  exit 1
fi

ncmd=0
for cmd in $commands; do
  [ "$cmd" = help ] && continue # `help help` is not a command; its text is --help
  ncmd=$((ncmd + 1))
  if ! "$prog" help "$cmd" >"$tmp/cmd" 2>"$tmp/cmd.err" || [ ! -s "$tmp/cmd" ]; then
    fail "'$name help $cmd' failed or printed nothing:"
    sed 's/^/    /' "$tmp/cmd.err"
    continue
  fi
  LC_ALL=C awk -F '\t' -v a="$cmd" -v b="$name $cmd" '$1 == a || $1 == b { print $2; found = 1; exit }
    END { exit !found }' "$tmp/sections" >"$tmp/scope"
  if [ ! -s "$tmp/scope" ]; then
    fail "no subsection \".SS $cmd\" for the command '$cmd' (from '$name --help')"
    continue
  fi
  check_lines "'$name help $cmd'" "$tmp/scope" <"$tmp/cmd"
done

# --- PROGRAM --version --------------------------------------------------------
version=$("$prog" --version 2>/dev/null | awk 'NR == 1 { print $NF }')
footer=$(grep '[^[:space:]]' "$tmp/rendered" | tail -n 1 | normalise)
if [ -z "$version" ]; then
  fail "'$name --version' printed no version"
elif [[ " $footer " != *" $version "* ]]; then
  fail "the footer says '$footer' but '$name --version' says $version (update .TH)"
fi

if [ "$failed" -ne 0 ]; then
  echo "man_check: $pagename does not match $name's help: update the page (or the help text) so they say the same"
  exit 1
fi
echo "man_check: $pagename matches '$name --help', the help of $ncmd commands and version $version"
exit 0
