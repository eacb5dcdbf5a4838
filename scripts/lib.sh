# shellcheck shell=bash
# scripts/lib.sh — sourced (not executed) by every Ballast script.
#
# Why: all scripts must agree on where things live. In particular there is ONE
# shared cargo target dir per machine ($BALLAST_CACHE/target), so the slow
# bundled DuckDB C++ build (~35 min on 2 cores) happens once per machine and is
# reused by `scripts/test`, `scripts/run-demo`, CI runs from fresh clones and
# every git worktree.
#
# Provides:
#   BALLAST_CACHE     per-machine cache dir (default ~/.cache/ballast)
#   CARGO_TARGET_DIR  exported, default $BALLAST_CACHE/target
#   REPO              absolute path of the repository root
#   BALLAST_BIN_DIR   $BALLAST_CACHE/bin (tauri-driver lives here), put on PATH
#   log / warn / die  messages to stderr
#   banner            a big step header for scripts/test
#   as_root           run a command as root (sudo only when not already root)
#   pg_bin_dir        prints the newest PostgreSQL server bin dir (initdb, pg_ctl)
#   free_tcp_port     prints a currently free TCP port on 127.0.0.1

set -euo pipefail

BALLAST_CACHE=${BALLAST_CACHE:-${HOME:-/root}/.cache/ballast}
export BALLAST_CACHE
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$BALLAST_CACHE/target}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
export REPO

BALLAST_BIN_DIR=$BALLAST_CACHE/bin
export BALLAST_BIN_DIR
case ":$PATH:" in
  *":$BALLAST_BIN_DIR:"*) ;;
  *) export PATH="$BALLAST_BIN_DIR:$PATH" ;;
esac

# Python with the DuckDB client (made by scripts/setup), for the file-format test.
if [ -x "$BALLAST_CACHE/venv/bin/python" ]; then
  export BALLAST_PYTHON=$BALLAST_CACHE/venv/bin/python
fi

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf '==> WARNING: %s\n' "$*" >&2; }
die() {
  printf '==> ERROR: %s\n' "$*" >&2
  exit 1
}

banner() {
  local line='=========================================================================='
  printf '\n%s\n=== %s\n%s\n' "$line" "$*" "$line" >&2
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  else
    command -v sudo >/dev/null 2>&1 || die "need root for: $* (and sudo is not installed)"
    sudo "$@"
  fi
}

# Newest PostgreSQL server bin dir (Debian/Ubuntu keep initdb/pg_ctl out of PATH,
# under /usr/lib/postgresql/<major>/bin). Falls back to initdb on PATH.
pg_bin_dir() {
  local d best=''
  # sort -V so that 9.6 < 15 < 16
  while IFS= read -r d; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && best=$d
  done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V)
  if [ -z "$best" ] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    best=$(dirname "$(readlink -f "$(command -v initdb)")")
  fi
  [ -n "$best" ] || return 1
  printf '%s\n' "$best"
}

# A TCP port on 127.0.0.1 that is free right now (tiny race with whoever binds
# it next; fine for tests).
free_tcp_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' && return 0
  fi
  # Fallback: probe random high ports with bash's /dev/tcp; a refused
  # connection means nobody listens there.
  local port _
  for _ in $(seq 1 200); do
    port=$((20000 + (RANDOM % 40000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  return 1
}
