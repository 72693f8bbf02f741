#!/bin/sh
# tests/compile_fail/check.sh SOURCE INCLUDE_DIR COMPILER [ARGS...]: compiles SOURCE with each
# case of the table below (-DNETCO_REFUSED=N, -fsyntax-only); each must fail and print its
# message and its event. Without a case the source must compile.
src=$1 inc=$2
shift 2
"$@" -std=c++20 -fsyntax-only -I"$inc" "$src" || { echo "the accepted listeners do not compile"; exit 1; }
status=0
while IFS='|' read -r n message event; do
  [ -z "$n" ] && continue
  if out=$("$@" -std=c++20 -fsyntax-only -DNETCO_REFUSED="$n" -I"$inc" "$src" 2>&1); then
    echo "case $n compiled: it must be refused"; status=1; continue
  fi
  echo "$out" | grep -qF "$message" || { echo "case $n: missing message: $message"; status=1; }
  echo "$out" | grep -qF "$event" || { echo "case $n: missing event: $event"; status=1; }
done <<'TABLE'
1|netco: this listener fits none of the signatures|on_event<'d', 'a', 't', 'a'>
2|netco: listener does not fit event|("data")
3|netco: a generic listener (auto parameters) needs the event name at compile time|on_event<'d', 'a', 't', 'a'>
4|netco: this listener fits none of the signatures|on_event<'r', 'e', 'q', 'u', 'e', 's', 't'>
5|netco: unknown event, within two typos of a built-in one|("dta")
6|netco: this event name is within two typos of a built-in event|dta
7|netco: a listener of a custom event needs explicit (non-template) parameter types|greet
8|netco: listener does not fit event|("connection")
TABLE
exit $status
