#!/usr/bin/env bash
# The peers benchmark's one command (issue 8, work in progress): builds Doorstep's binaries,
# installs the peers' pinned packages here if missing, then runs run.mjs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../.."
cargo build --release -p doorstep-server --bins --examples --quiet
[ -d "$HERE/node_modules" ] || (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
exec node "$HERE/run.mjs" "$@"
