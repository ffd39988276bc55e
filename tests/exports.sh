#!/usr/bin/env bash
# The preload must export exactly the symbols of lib/hooks.def: one missing
# is a hole in the guard, one extra leaks our internals into every program.
set -euo pipefail
lib=$1 list=$2
got=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | sort -u)
want=$(grep -v '^[[:space:]]*$' "$list" | tr -d ' \t' | sort -u)
if [ "$got" != "$want" ]; then
  echo "exports differ from lib/hooks.def (< exported, > in the table):"
  diff <(echo "$got") <(echo "$want") || true
  exit 1
fi
echo "exports: $(echo "$want" | wc -l) symbols match lib/hooks.def"
