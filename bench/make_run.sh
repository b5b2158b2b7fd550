#!/usr/bin/env bash
# Time from `make run` on a fresh clone (no .venv, no var/) to the first page served.
# Usage: bash bench/make_run.sh [--record]   (PIP_NO_CACHE_DIR=1 to also defeat pip's download cache)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-8765}
clone=$(mktemp -d)/labelapp
git clone -q "$repo" "$clone"
cd "$clone"
start=$(date +%s.%N)
DEMO_PASSWORD=bench-password-1 setsid make run PORT="$port" >"$clone/make-run.log" 2>&1 &
runner=$!
trap 'kill -- -$runner 2>/dev/null || true' EXIT
until curl -fs -o /dev/null "http://127.0.0.1:$port/accounts/login/"; do
  kill -0 "$runner" 2>/dev/null || { tail -30 "$clone/make-run.log"; exit 1; }
  sleep 1
  [ "$(echo "$(date +%s.%N) - $start > 1800" | bc)" = 1 ] && { echo "gave up after 30 minutes"; exit 1; }
done
seconds=$(echo "$(date +%s.%N) - $start" | bc)
line=$(printf 'make run on a fresh clone to the first page served: %.0f s (pip download cache: %s)' "$seconds" "$([ -n "${PIP_NO_CACHE_DIR:-}" ] && echo off || echo on)")
echo "$line"
if [ "${1:-}" = "--record" ]; then
  echo "| $(date +%F) | $(uname -m), $(nproc) cores | \`bash bench/make_run.sh\` | $line |" >>"$repo/BENCHMARKS.md"
fi
