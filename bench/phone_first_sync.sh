#!/usr/bin/env bash
# The first sync of a grid (500 households, half a year of history: `doorstep-server street
# --grids 1`) by a phone built as the shipped library is (the `phone` profile: opt-level z, fat
# LTO, panic = "abort"; SQLite trimmed, zstd thin) and by the same code built for speed
# (`release`), alternating, against one release server on loopback (issue 23; docs/perf.md,
# "The phone library's profile"). The phone is `server/examples/phone.rs`: the real core store
# (a SQLite file) and the real sync client, enrolling and then syncing.
#
#   bash bench/phone_first_sync.sh            # RUNS=7 by default
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}
cargo build --release -p doorstep-server --bin doorstep-server --example phone --quiet
LIBSQLITE3_FLAGS="$(cat bindings/sqlite-phone.flags)" CFLAGS="$(cat bindings/c-phone.flags)" \
    cargo build --profile phone -p doorstep-server --example phone --features doorstep-core/small-zstd --quiet
SRV=target/release/doorstep-server
W=$(mktemp -d)
trap 'kill $SRV_PID 2>/dev/null || true; rm -rf "$W"' EXIT
"$SRV" street --data "$W/data" --grids 1 --households 500 | tail -1 | cut -c1-160
admin() { "$SRV" --log-format text admin --json --data "$W/data" "$@"; }
P=$(admin add-person --name 测网格 --role grid-worker --unit xb-c01-g01 | sed -n 's/.*"id": "\(.*\)".*/\1/p')
"$SRV" serve --data "$W/data" --listen 127.0.0.1:0 > "$W/serve.out" 2> "$W/serve.log" &
SRV_PID=$!
for _ in $(seq 100); do grep -q "listening on" "$W/serve.out" && break; sleep 0.1; done
URL="http://$(sed -n 's/^listening on //p' "$W/serve.out")"
for build in release phone; do : > "$W/$build.ms"; done
for i in $(seq "$RUNS"); do
    for build in release phone; do
        code=$(admin enroll --person "$P" | sed -n 's/.*"code": "\(.*\)".*/\1/p')
        t0=$(date +%s%N)
        out=$("target/$build/examples/phone" "$W/$build-$i.db" enroll "$URL" "$code")
        t1=$(date +%s%N)
        echo $(( (t1 - t0) / 1000000 )) >> "$W/$build.ms"
        [ "$i" = 1 ] && echo "$build: $out"
    done
done
for build in release phone; do
    sort -n "$W/$build.ms" | awk -v b="$build" '{a[NR]=$1} END {printf "%-8s first sync of a grid, median of %d: %d ms (min %d, max %d)\n", b, NR, a[int((NR+1)/2)], a[1], a[NR]}'
done
