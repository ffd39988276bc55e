#!/usr/bin/env bash
# The quick start's demo: an agent-like shell, guarded by the embedded
# default policy, tries to wipe a directory outside its workspace and to
# read a private key, then does ordinary work inside. Usage: tests/demo.sh [BUILD_DIR]
set -u
build=$(cd "${1:-build}" && pwd)
ag="$build/bin/agentguard"
demo="$HOME/agentguard-demo"

rm -rf "$demo"
mkdir -p "$demo/precious" "$demo/project" "$demo/home/.ssh"
for i in 1 2 3; do echo "irreplaceable $i" > "$demo/precious/notes-$i.txt"; done
echo "-----BEGIN OPENSSH PRIVATE KEY----- (demo)" > "$demo/home/.ssh/id_ed25519"
cd "$demo/project" && git init -q .

echo "== agentguard run -- bash -c '...'   (workspace: $demo/project, embedded default policy)"
HOME="$demo/home" "$ag" run --log "$demo/agentguard.jsonl" -- bash -c '
  set -x
  rm -rf '"$demo/precious"'
  cat ~/.ssh/id_ed25519
  mkdir -p build && echo obj > build/a.o && rm -rf build && echo "inside the workspace: fine"
' 2>&1 | sed 's/^/   /'

echo
echo "== what survived outside the workspace:"
ls -l "$demo/precious" | sed 's/^/   /'
echo
echo "== the log ($demo/agentguard.jsonl):"
sed 's/^/   /' "$demo/agentguard.jsonl"
n=$(ls "$demo/precious" | wc -l)
if [ "$n" -eq 3 ] && grep -q '"rule":"outside-workspace"' "$demo/agentguard.jsonl"; then
  echo; echo "demo: the guarded rm -rf was refused and nothing was deleted."
  exit 0
fi
echo "demo: FAILED: $n of 3 files left" >&2
exit 1
