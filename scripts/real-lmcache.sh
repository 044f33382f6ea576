#!/usr/bin/env bash
# real-lmcache.sh — run a REAL LMCache multiprocess-mode server (the PyPI package, CPU-only,
# no GPU, no vLLM) on loopback and drive real traffic into it with LMCache's own
# `lmcache bench server --mode cpu` client. Use it to test kvscope against the real thing.
#
#   real-lmcache.sh serve   [SECONDS]   start a server, loop a bounded workload, print its URL,
#                                       stop after SECONDS (default 600) or on Ctrl-C / SIGTERM
#   real-lmcache.sh capture OUTDIR      one scripted run; saves a /metrics timeline, every safe
#                                       GET route, the server log and the .lct trace under OUTDIR
#
# Environment (all optional):
#   LMCACHE_HOME     where the venv lives (default: $HOME/.cache/kvscope-real-lmcache)
#   LMCACHE_VERSION  PyPI version (default 0.5.6; others get their own venv). First install pulls
#                    torch + CUDA wheels (about 6 GB, about 2-3 minutes); they import fine without
#                    a GPU. 0.5.0 runs with these flags too (checked); its bench client also
#                    imports `openai`, so `pip install openai` into that venv if it is missing.
#   ZMQ_PORT / HTTP_PORT   loopback ports (default 15555 / 18080). /metrics is served on HTTP_PORT.
#   L1_GB            L1 size in GB (default 1; small so that eviction happens)
#   SEQS             sequences per fill phase (default 24; 64 MiB each with the default KV shape)
#   EXTRA_ARGS       extra `lmcache server` flags, e.g. "--event-bus-queue-size 4" to provoke
#                    EventBus tail-drop, or "--eviction-policy IsolatedLRU"
#   NO_L2=1          run without the filesystem L2 adapter
#   WORKLOAD=zipf    instead of the bench phases, scripts/zipf-workload.py: skewed reuse of
#                    shared prefixes, the same requests at any L1 size (capacity curves);
#                    ZIPF_ARGS passes it flags, e.g. "--requests 3000"
# Everything binds to 127.0.0.1. Usage telemetry is switched off. Only the PIDs started here
# are signalled. Never calls POST/PUT/DELETE routes.
set -u -o pipefail
set -m   # background jobs get their own process group, so stopping one stops its children
MODE=${1:-}
LMCACHE_HOME=${LMCACHE_HOME:-$HOME/.cache/kvscope-real-lmcache}
LMCACHE_VERSION=${LMCACHE_VERSION:-0.5.6}
ZMQ_PORT=${ZMQ_PORT:-15555}
HTTP_PORT=${HTTP_PORT:-18080}
L1_GB=${L1_GB:-1}
SEQS=${SEQS:-24}
# 0.5.6 lives in venv/; any other release gets its own venv-VERSION/ beside it (the pip cache makes
# a second install of the same torch quick), so switching versions never clobbers another.
VENV=$LMCACHE_HOME/venv
[ "$LMCACHE_VERSION" = 0.5.6 ] || VENV=$LMCACHE_HOME/venv-$LMCACHE_VERSION
URL=http://127.0.0.1:$HTTP_PORT
RPC=tcp://127.0.0.1:$ZMQ_PORT

case "$MODE" in
  serve) DURATION=${2:-600}; OUT=$(mktemp -d "${TMPDIR:-/tmp}/kvscope-lmcache.XXXXXX") ;;
  capture) OUT=${2:?usage: real-lmcache.sh capture OUTDIR}; DURATION=0 ;;
  *) sed -n '2,27p' "$0"; exit 2 ;;
esac
mkdir -p "$OUT"/{http,http_idle,bench,tmp,l2}
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/run.log" >&2; }

# 1. install (idempotent)
if [ "$("$VENV/bin/pip" show lmcache 2>/dev/null | sed -n 's/^Version: //p')" != "$LMCACHE_VERSION" ]; then
  log "installing lmcache==$LMCACHE_VERSION into $VENV (first time: ~6 GB, a few minutes)"
  mkdir -p "$LMCACHE_HOME"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || exit 1
  "$VENV/bin/pip" install -q "lmcache==$LMCACHE_VERSION" >"$LMCACHE_HOME/pip.log" 2>&1 \
    || { log "pip install failed; see $LMCACHE_HOME/pip.log"; exit 1; }
fi
# Older releases' CLI imports `openai` at start (for its engine bench) without requiring it.
"$VENV/bin/python" -c "import openai" 2>/dev/null || "$VENV/bin/pip" install -q openai >>"$LMCACHE_HOME/pip.log" 2>&1 \
  || { log "pip install openai failed; see $LMCACHE_HOME/pip.log"; exit 1; }

# A scrubbed environment: GET /env returns the server's whole environment.
ENVV=(env -i PATH="$VENV/bin:/usr/bin:/bin" HOME="$OUT/tmp" TMPDIR="$OUT/tmp" LANG=C.UTF-8
      LMCACHE_DISABLE_BANNER=1 PYTHONUNBUFFERED=1 LMCACHE_TRACK_USAGE=false DO_NOT_TRACK=1
      LMCACHE_USAGE_TRACK_URL=http://127.0.0.1:9 HF_HUB_OFFLINE=1)
for p in "$ZMQ_PORT" "$HTTP_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then log "port $p is already in use"; exit 1; fi
done

# 2. launch
L2_ARGS=(--l2-adapter "{\"type\":\"fs\",\"base_path\":\"$OUT/l2\"}")
[ "${NO_L2:-0}" = 1 ] && L2_ARGS=()
# shellcheck disable=SC2206
SERVER_ARGS=(server --host 127.0.0.1 --port "$ZMQ_PORT" --http-host 127.0.0.1 --http-port "$HTTP_PORT"
  --prometheus-port $((HTTP_PORT + 1)) --supported-transfer-mode auto --l1-size-gb "$L1_GB"
  --eviction-policy LRU --metrics-sample-rate 1.0 --trace-level storage --trace-output "$OUT/run.lct"
  "${L2_ARGS[@]}" ${EXTRA_ARGS:-})
echo "lmcache ${SERVER_ARGS[*]}" >"$OUT/launch_command.txt"
# LMCache's processes keep KV buffers in /dev/shm (lmcache_kv_<pid>_<n>, 64 MiB each) and the
# bench client leaves them behind when it exits: a looping `serve` fills memory within an hour.
# Remove the ones that appeared since SHM_BEFORE and whose process is gone.
shm_list() { ls /dev/shm 2>/dev/null | grep '^lmcache_kv_' | sort; }
shm_sweep() {  # shm_sweep BEFORE_LIST
  comm -13 <(printf '%s\n' "$1") <(shm_list) | while read -r f; do
    p=${f#lmcache_kv_}; p=${p%%_*}
    kill -0 "$p" 2>/dev/null || rm -f "/dev/shm/$f"
  done
}
SHM_START=$(shm_list)
"${ENVV[@]}" "$VENV/bin/lmcache" "${SERVER_ARGS[@]}" >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
WORK_PID=
stop_all() {
  [ -n "$WORK_PID" ] && kill -TERM -- "-$WORK_PID" 2>/dev/null
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    for _ in $(seq 1 60); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID"
  fi
  [ -n "$WORK_PID" ] && for _ in $(seq 1 20); do pgrep -g "$WORK_PID" >/dev/null || break; sleep 0.5; done
  shm_sweep "$SHM_START"
  [ "${KEEP_L2:-0}" = 1 ] || rm -rf "$OUT/l2"
  rm -rf "$OUT/tmp" "$OUT/.phase" "$OUT/.driven_done"
}
trap stop_all EXIT
trap 'exit 0' INT TERM
for _ in $(seq 1 240); do
  kill -0 "$SERVER_PID" 2>/dev/null || { log "server exited; see $OUT/server.log"; exit 1; }
  [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$URL/healthcheck")" = 200 ] && break
  sleep 0.5
done
log "LMCache MP server ready: $URL (metrics: $URL/metrics, pid $SERVER_PID, artifacts: $OUT)"

bench() {  # bench NAME args...
  local name=$1 before; shift
  echo "$name" >"$OUT/.phase"
  before=$(shm_list)
  timeout --foreground 600 "${ENVV[@]}" "$VENV/bin/lmcache" bench server --rpc-url "$RPC" --url "$URL" \
    --mode cpu --num-tokens 512 --interval 0.2 "$@" >>"$OUT/bench/$name.log" 2>&1
  shm_sweep "$before"
}
HERE=$(cd "$(dirname "$0")" && pwd)
workload() {  # fill past L1 (eviction, L2 stores), revisit (L1 + L2 hits), lmcache-driven path
  if [ "${WORKLOAD:-bench}" = zipf ]; then
    echo zipf >"$OUT/.phase"
    local before; before=$(shm_list)
    # shellcheck disable=SC2086
    timeout --foreground 1800 "${ENVV[@]}" "$VENV/bin/python" "$HERE/zipf-workload.py" \
      --rpc-url "$RPC" --url "$URL" ${ZIPF_ARGS:-} >>"$OUT/bench/zipf.log" 2>&1
    shm_sweep "$before"
    return
  fi
  bench fill --start 1 --end $((SEQS + 1))
  bench revisit --start 1 --end 9
  # LMCache 0.5.6 keeps every lmcache-driven client's shared-memory KV registration after the
  # client exits (~4 GB per pass): run that path once per server, not in every loop of `serve`.
  [ -e "$OUT/.driven_done" ] && return
  # Releases before 0.5 call the server-driven path `handle`.
  local driven=lmcache_driven
  "${ENVV[@]}" "$VENV/bin/lmcache" bench server --help 2>/dev/null | grep -q lmcache_driven || driven=handle
  bench driven --transfer-mode "$driven" --start 100 --end 104
  bench driven_repeat --transfer-mode "$driven" --start 100 --end 104
  touch "$OUT/.driven_done"
}
ROUTES=(/ /healthcheck /status /config /config/adapters /version /lmc_version /commit_id /threads
  /periodic-threads /periodic-threads-health /quota /loglevel /metrics /openapi.json
  /api/healthcheck /api/status /conf /api/quota)
# Layout as in shared/captures: <name>.json|.txt + .status, and index.tsv (route, status, bytes, type).
get_routes() {  # get_routes DIR — GET only
  local dir=$1 r n code ct
  printf 'route\tstatus\tbytes\tcontent_type\n' >"$dir/index.tsv"
  for r in "${ROUTES[@]}"; do
    n=$(echo "$r" | sed 's#^/##; s#[/?=&]#_#g'); [ -z "$n" ] && n=root
    code=$(curl -s -m 15 -D "$dir/.h" -o "$dir/.b" -w '%{http_code}' "$URL$r")
    ct=$(grep -i '^content-type' "$dir/.h" | tr -d '\r' | cut -d' ' -f2-)
    case "$ct" in *json*) mv "$dir/.b" "$dir/$n.json" ;; *) mv "$dir/.b" "$dir/$n.txt" ;; esac
    echo "$code" >"$dir/$n.status"
    printf '%s\t%s\t%s\t%s\n' "$r" "$code" "$(cat "$dir/$n".json "$dir/$n".txt 2>/dev/null | wc -c)" "$ct" >>"$dir/index.tsv"
  done
  rm -f "$dir/.h"
}
# metrics_tN.prom + metrics_index.tsv (file, UTC time, phase, status, lmcache_mp lines)
printf 'file\tutc_time\tphase\thttp_status\tlmcache_mp_series_lines\n' >"$OUT/metrics_index.tsv"
echo idle >"$OUT/.phase"
scrape() {
  local n f ts code
  n=$(($(wc -l <"$OUT/metrics_index.tsv") - 1)); f=metrics_t$n.prom
  ts=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  code=$(curl -s -m 10 -o "$OUT/$f" -w '%{http_code}' "$URL/metrics")
  printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$ts" "$(cat "$OUT/.phase")" "$code" "$(grep -c '^lmcache_mp' "$OUT/$f")" >>"$OUT/metrics_index.tsv"
}

if [ "$MODE" = serve ]; then
  ( end=$((SECONDS + DURATION)); while [ $SECONDS -lt "$end" ]; do workload; done ) &
  WORK_PID=$!
  end=$((SECONDS + DURATION))
  while [ $SECONDS -lt "$end" ] && kill -0 "$SERVER_PID" 2>/dev/null; do sleep 2; done
  exit 0
fi

# capture: timeline scrapes every 5 s while the workload runs once
get_routes "$OUT/http_idle"; scrape
( while :; do sleep 5; scrape; done ) &
SCRAPER=$!
workload
echo idle-after >"$OUT/.phase"
kill -TERM -- "-$SCRAPER" 2>/dev/null; wait "$SCRAPER" 2>/dev/null
scrape; get_routes "$OUT/http"
trap - EXIT; stop_all
"${ENVV[@]}" "$VENV/bin/lmcache" trace info "$OUT/run.lct" >"$OUT/trace_info.txt" 2>&1
log "capture done: $OUT"
