#!/usr/bin/env bash
# Regenerates the README screenshots from the bundled real data (the demo's pairing:
# the LMCache 0.5.6 capture and packet_a's vLLM scrape). Run from anywhere in the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
for size in 200x60 120x40 80x24; do
  for fmt in svg text; do
    ext=$([ "$fmt" = svg ] && echo svg || echo txt)
    ./target/release/kvscope screenshot \
      --lmcache fixtures/lmcache-0.5.6-cpu-run1/metrics_index.tsv \
      --engine fixtures/packet_a/vllm_metrics_loaded.prom \
      --size "$size" --format "$fmt" --out "screenshots/demo-$size.$ext"
  done
done
