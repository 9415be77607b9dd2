#!/usr/bin/env bash
# `zt source verify` against `git verify-commit` (one process per commit, as a hook or CI loop
# runs it) and `git log --format=%G?` on the same repository of SSH-signed commits, whole
# process. Usage: bench/verify-commits.sh [COMMITS] [RUNS]
source "$(dirname "$0")/common.sh"
N=${1:-300}
RUNS=${2:-3}
build_zt

WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
export HOME="$WORK" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$WORK/gitconfig"
ssh-keygen -q -t ed25519 -N "" -C alice -f "$WORK/alice"
REPO="$WORK/repo"
git init -q -b main "$REPO"
cd "$REPO"
git config user.name Alice
git config user.email alice@example.com
git config gpg.format ssh
git config user.signingkey "$WORK/alice"
echo "alice@example.com $(cat "$WORK/alice.pub")" > "$WORK/allowed"
git config gpg.ssh.allowedSignersFile "$WORK/allowed"
mkdir -p .zt
printf '[[signer]]\nname = "alice"\nkey = "%s"\n' "$(cat "$WORK/alice.pub")" > .zt/signers.toml
git add .zt && git commit -q -S -m policy
# Real trees: every commit changes a file among a few hundred.
mkdir -p src
for i in $(seq 1 200); do echo "$i" > "src/f$i.txt"; done
git add src && git commit -q -S -m "tree"
for i in $(seq 3 "$N"); do
  echo "$i" >> "src/f$((i % 200 + 1)).txt"
  git commit -q -S -am "change $i"
done
ROOT=$(git rev-list --max-parents=0 HEAD)
git config zt.trustRoot "$ROOT"
COMMITS=$(git rev-list HEAD | wc -l)

git_loop() { git rev-list HEAD | while read -r c; do git verify-commit "$c" 2>/dev/null || exit 1; done; }
git_log() { git log --format=%G? | grep -qv G && return 1 || return 0; }

# Sanity: every tool accepts every commit.
"$ZT" source verify --no-cache >/dev/null 2>&1 || { echo "zt rejected the history" >&2; exit 1; }
git_loop || { echo "git verify-commit rejected a commit" >&2; exit 1; }

zt_ms=$(time_runs "$RUNS" "$ZT" source verify --no-cache)
zt_cached_ms=$(time_runs "$RUNS" "$ZT" source verify)
loop_ms=$(time_runs 1 git_loop)
log_ms=$(time_runs "$RUNS" git_log)
rate() { awk -v n="$COMMITS" -v ms="$1" 'BEGIN { printf "%.0f", n / (ms / 1000) }'; }
printf "%d SSH-signed commits (ed25519)\n" "$COMMITS"
printf "%-40s %10s %12s %8s\n" tool "ms" "commits/s" "zt is"
printf "%-40s %10s %12s %8s\n" "zt source verify --no-cache" "$zt_ms" "$(rate "$zt_ms")" "1.0x"
printf "%-40s %10s %12s %8s\n" "git verify-commit (loop)" "$loop_ms" "$(rate "$loop_ms")" "$(ratio "$zt_ms" "$loop_ms")x"
printf "%-40s %10s %12s %8s\n" "git log --format=%G?" "$log_ms" "$(rate "$log_ms")" "$(ratio "$zt_ms" "$log_ms")x"
printf "%-40s %10s %12s %8s\n" "zt source verify (cached, no new)" "$zt_cached_ms" "-" "-"
