#!/usr/bin/env bash
# tools/registry.sh start|stop|status — a local OCI registry for the pipeline's push
# stage: Debian's docker-registry (the CNCF Distribution registry) on 127.0.0.1:PORT
# (REGISTRY_PORT, default 5000), no auth, images kept under .registry/ in this
# example's directory (ignored by git). `start` does nothing when a registry already
# answers on that port; `stop` stops only a registry this script started.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=${REGISTRY_PORT:-5000}
dir=$here/.registry
pidfile=$dir/registry.pid

answers() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/v2/" 2>/dev/null; }

case "${1:-}" in
  start)
    if answers; then
      echo "registry: already answering on 127.0.0.1:$port"
      exit 0
    fi
    command -v docker-registry >/dev/null ||
      { echo "registry: docker-registry is not installed (scripts/install-deps.sh)" >&2; exit 2; }
    mkdir -p "$dir/data"
    cat > "$dir/config.yml" <<YML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $dir/data }
  delete: { enabled: true }
http:
  addr: 127.0.0.1:$port
YML
    setsid docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 < /dev/null &
    echo $! > "$pidfile"
    for _ in $(seq 100); do
      if answers; then
        echo "registry: started on 127.0.0.1:$port (pid $(cat "$pidfile"), log $dir/registry.log)"
        exit 0
      fi
      kill -0 "$(cat "$pidfile")" 2>/dev/null || break
      sleep 0.1
    done
    echo "registry: did not come up on 127.0.0.1:$port; see $dir/registry.log" >&2
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
    exit 1
    ;;
  stop)
    if [ -f "$pidfile" ]; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile"
      echo "registry: stopped"
    else
      echo "registry: not started by this script"
    fi
    ;;
  status)
    if answers; then echo "registry: answering on 127.0.0.1:$port"; else echo "registry: not answering on 127.0.0.1:$port"; exit 1; fi
    ;;
  *)
    echo "usage: tools/registry.sh start|stop|status   (REGISTRY_PORT, default 5000)" >&2
    exit 2
    ;;
esac
