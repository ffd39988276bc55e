#!/usr/bin/env bash
# An invalid policy case: `agentguard check policy.json` run in the case's
# directory must exit 2 and print exactly the line in `expected`.
set -uo pipefail
bin=$1 dir=$2
cd "$dir" || exit 1
got=$("$bin" check policy.json 2>&1 >/dev/null)
rc=$?
want=$(cat expected)
if [ "$rc" -ne 2 ]; then echo "exit $rc, want 2; output: $got"; exit 1; fi
if [ "$got" != "$want" ]; then
  printf 'message differs\n got: %s\nwant: %s\n' "$got" "$want"
  exit 1
fi
echo "ok: $got"
