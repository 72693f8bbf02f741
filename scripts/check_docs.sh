#!/usr/bin/env bash
# scripts/check_docs.sh: the user docs (README.md, docs/*.md) speak to users. Fails on words that
# only mean something inside the project's own workflow: names of internal scenarios and
# requirement ids, files and folders that are not in the repository, or talk of who wrote what.
# Prints FILE:LINE: TEXT (and the rule) for each hit; exits 1 if there is any, 0 otherwise.
# Usage: scripts/check_docs.sh [FILES...] (default: README.md and docs/*.md).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2
if (($#)); then
  files=("$@")
else
  files=(README.md docs/*.md)
fi

# Each rule: "WHY|PCRE" (matched case-insensitively unless WHY starts with "=": then as is).
# A word with a common user meaning is only flagged in its project sense (fuzzing "seed
# corpora" are fine; TLS sessions are fine).
rules=(
  'internal scenario name ("seed 001"): name the example or what it does|\bseeds?\b(?!\s+(corp|input|file))'
  '=internal requirement id (U2, U5...): say the behaviour instead|\bU[0-9]{1,2}\b'
  'a file that is not in the repository|NODE-BEHAVIOURS'
  'a tool that is not in the repository: name benchmarks/kit instead|perf-kit'
  'a path outside the repository|\.\./shared\b'
  'internal design notes, not in the repository|\b(DESIGN|STYLE)\.md\b'
  'an issue the reader cannot see: say what is meant|\bthe issue\b|\bissues? #|\bissue item\b'
  'who did the work is not the reader'\''s business|\bhelpers?\b|\b(other |another )?engineers?\b|\bworktrees?\b|\bthe brief\b'
  'a work session is not a user word (TLS sessions are fine)|(?<!TLS )(?<!tls )(?<!last )(?<!::)(?<!")(?<!`)\bsessions?\b(?![ -](ticket|resum|reuse|cache|id\b))(?!["`])'
)

hits=0
for f in "${files[@]}"; do
  [[ -f $f ]] || { echo "check_docs: $f: no such file" >&2; hits=$((hits + 1)); continue; }
  for rule in "${rules[@]}"; do
    why=${rule%%|*}
    re=${rule#*|}
    flags=(-nP)
    if [[ $why == =* ]]; then why=${why#=}; else flags+=(-i); fi
    while IFS= read -r line; do
      echo "$f:${line%%:*}: ${why}"
      echo "    ${line#*:}" | cut -c1-160
      hits=$((hits + 1))
    done < <(grep "${flags[@]}" -e "$re" -- "$f")
  done
done

if ((hits)); then
  echo "check_docs: $hits internal word(s) in the user docs (rules in scripts/check_docs.sh)"
  exit 1
fi
echo "check_docs: ${#files[@]} files speak to users"
