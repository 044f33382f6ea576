#!/usr/bin/env bash
# Builds the static binary (x86_64, musl) and shows that it runs on a bare machine: an empty
# directory holding only the binary and one real scrape, entered with chroot (no libc, no
# /etc, no CA certificates, no /proc). There it prints its version, reports on the scrape,
# serves the demo's recording and reports on that over loopback HTTP.
#
# Needs: the musl target (rustup target add x86_64-unknown-linux-musl), Debian's musl-tools
# (ring and zstd build C), and root for chroot (without it, the chroot part is skipped, loudly).
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
start=$(date +%s)
cargo build --release --locked --target "$target"
bin="target/$target/release/kvscope"
echo "static binary: $bin, $(stat -c %s "$bin") bytes, built in $(($(date +%s) - start)) s"
if ! ldd "$bin" 2>&1 | grep -qE 'statically linked|not a dynamic executable'; then
  echo "FAIL: $bin is dynamically linked:"; ldd "$bin"; exit 1
fi
"$bin" --version
"$bin" report --lmcache fixtures/lmcache-0.5.6-cpu-run1/metrics_t5.prom --format text | head -1

if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED: the empty-chroot run needs root"
  exit 0
fi
root=$(mktemp -d)
trap 'kill "${demo:-0}" 2>/dev/null || true; rm -rf "$root"' EXIT
cp "$bin" "$root/kvscope"
cp fixtures/lmcache-0.5.6-cpu-run1/metrics_t5.prom "$root/metrics.prom"
echo "empty root: $(cd "$root" && ls)"
chroot "$root" /kvscope --version
chroot "$root" /kvscope report --lmcache /metrics.prom --format json >"$root.json"
grep -q '"architecture": "lmcache_mp_server"' "$root.json" || { echo "FAIL: report in the chroot"; exit 1; }
rm -f "$root.json"
# The demo's servers, in the chroot, on free ports; then a report on them, also in the chroot.
chroot "$root" /kvscope demo --serve-only >"$root/demo.out" 2>&1 &
demo=$!
for _ in $(seq 50); do grep -q 'engine http' "$root/demo.out" 2>/dev/null && break; sleep 0.2; done
read -r lm en < <(sed -n 's/.*LMCache \(http[^ ]*\)  engine \(http[^ ]*\).*/\1 \2/p' "$root/demo.out")
[ -n "${lm:-}" ] || { echo "FAIL: demo in the chroot:"; cat "$root/demo.out"; exit 1; }
chroot "$root" /kvscope report --lmcache "$lm" --engine "$en" --format text | head -3
echo "OK: the static binary ran kvscope report and kvscope demo's servers in an empty chroot"
