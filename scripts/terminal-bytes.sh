#!/usr/bin/env bash
# How much kvscope writes to the terminal: runs `kvscope demo` in a tmux pane of COLSxROWS,
# records every byte the pane receives, and prints the bytes of each minute (a sliding
# 60-second window, sampled every 5 s) and the busiest one.
#
#   scripts/terminal-bytes.sh [SECONDS] [COLSxROWS]     (default 420 s, 120x40)
#
# The demo's recording lasts about 3 minutes and then starts over, so the default covers two
# whole cycles. Needs tmux; uses target/release/kvscope when built, else target/debug.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-420}
size=${2:-120x40}
bin=target/release/kvscope
[ -x "$bin" ] || bin=target/debug/kvscope
out=$(mktemp)
session=kvscope-bytes-$$
trap 'tmux kill-session -t "$session" 2>/dev/null || true; rm -f "$out"' EXIT
tmux new-session -d -s "$session" -x "${size%x*}" -y "${size#*x}" "$bin demo"
tmux pipe-pane -o -t "$session" "cat >> '$out'"
samples=()
for ((t = 0; t <= secs; t += 5)); do
  samples+=("$(stat -c %s "$out" 2>/dev/null || echo 0)")
  sleep 5
done
worst=0
worst_at=0
echo "second  bytes in the minute before"
for ((i = 12; i < ${#samples[@]}; i++)); do
  n=$((samples[i] - samples[i - 12]))
  printf '%6d  %d\n' $((i * 5)) "$n"
  if ((n > worst)); then worst=$n; worst_at=$((i * 5)); fi
done
total=${samples[-1]}
echo "total $total bytes in $secs s ($((total * 60 / secs)) bytes a minute on average)"
echo "busiest minute: $worst bytes (the minute before second $worst_at)"
