#!/usr/bin/env bash
# PRODUCT's install layout: cmake --install gives bin/agentguard,
# lib/libagentguard.so and share/agentguard/rules/*.json, and the installed
# program finds its library from its own location, so the prefix can move.
set -euo pipefail
build=$1 root=$2
# "Outside" must not be a temp directory the default policy allows: a
# clone under /tmp runs this in $HOME instead, as the C harness does.
case "$(realpath -m "$root")/" in
  /tmp/*|/var/tmp/*|/dev/shm/*) root="$HOME/.agentguard-tests" ;;
esac
t="$root/install-$$"
trap 'rm -rf "$t"' EXIT
rm -rf "$t" && mkdir -p "$t/ws" "$t/outside/keep" "$t/home"
echo data > "$t/outside/keep/f"
cmake --install "$build" --prefix "$t/prefix" >/dev/null
for f in bin/agentguard lib/libagentguard.so share/agentguard/rules/default.json \
         share/agentguard/rules/strict.json lib/agentguard/shims/bash; do
  [ -e "$t/prefix/$f" ] || { echo "missing $f in the install"; exit 1; }
done
mv "$t/prefix" "$t/moved"
cd "$t/ws"
set +e
HOME="$t/home" "$t/moved/bin/agentguard" run --workspace "$t/ws" --log "$t/log.jsonl" -- \
  bash -c "rm -rf '$t/outside'; case \":\$LD_PRELOAD:\" in *':$t/moved/lib/libagentguard.so:'*) ;; *) exit 9;; esac"
rc=$?
set -e
[ "$rc" -eq 0 ] || { echo "the moved install did not preload its own library (rc $rc)"; exit 1; }
[ -f "$t/outside/keep/f" ] || { echo "the moved install did not guard: outside tree deleted"; exit 1; }
grep -q '"rule":"outside-workspace"' "$t/log.jsonl" || { echo "no refusal logged"; exit 1; }
"$t/moved/bin/agentguard" check "$t/moved/share/agentguard/rules/"*.json >/dev/null
# The manual pages are installed and render without a warning.
for page in man1/agentguard.1 man5/agentguard-policy.5; do
  f="$t/moved/share/man/$page"
  [ -f "$f" ] || { echo "missing share/man/$page in the install"; exit 1; }
  if command -v groff >/dev/null; then
    warn=$(groff -man -Tutf8 -ww -z "$f" 2>&1)
    [ -z "$warn" ] || { echo "$page: groff warns: $warn"; exit 1; }
  fi
done
echo "install: layout as PRODUCT.md says; a moved prefix still guards; man pages render"
