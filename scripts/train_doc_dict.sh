#!/usr/bin/env bash
# Trains the dictionary the stores pack their documents with (core/src/store/packed.rs) on the
# documents of a built street. Run once; the dictionary is fixed for ever once a store has
# used it: a new one gets a new id (and packed.rs reads both). Kept to say how it was made.
#
#   cargo bench -p doorstep-server --bench street -- --only 22x500   # builds the street
#   bash scripts/train_doc_dict.sh target/street-fixtures/22x500-v4/doorstep-server.db OUT.zdict ID
set -euo pipefail
db=${1:?the street server's file}
out=${2:?where to write the dictionary}
id=${3:?the dictionary id, as packed.rs names it}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo run --quiet --release -p doorstep-server --example doc_samples -- "$db" "$work/all" 8000 3
mkdir "$work/train"
# Three of every four for training; the fourth is what `zstd -b` below measures against.
for f in "$work"/all/*; do
  n=$((10#$(basename "$f")))
  if [ $((n % 4)) -ne 0 ]; then mv "$f" "$work/train/"; fi
done
zstd -q --train "$work"/train/* --maxdict=32768 --dictID="$id" -o "$out"
zstd -b3 -D "$out" "$work"/all/* 2>&1 | tail -1
