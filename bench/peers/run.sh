#!/usr/bin/env bash
# The peers benchmark's one command (issue 8, work in progress): builds Doorstep's binaries,
# installs the peers' pinned packages here if missing, then runs run.mjs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../.."
cargo build --release -p doorstep-server --bins --examples --quiet
# `npm install` with the committed lock installs its pinned versions; `npm ci` would refuse
# here: npm 11 leaves other platforms' optional packages (cbor-extract's) out of the lock.
[ -d "$HERE/node_modules" ] || (cd "$HERE" && npm install --no-audit --no-fund --loglevel=error)
exec node "$HERE/run.mjs" "$@"
