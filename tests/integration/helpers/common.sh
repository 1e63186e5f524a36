# Shared set-up of the integration scripts (sourced, after `set -euo
# pipefail`): a scratch directory |dir|, the background processes |pids| to
# stop on exit, and helpers. A script may define cleanup_extra() to stop
# processes it tracks itself; KEEP=1 keeps |dir| for a look.
dir=$(mktemp -d)
pids=()
cleanup() {
  if declare -F cleanup_extra >/dev/null; then cleanup_extra || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
# Fails the test with a reason and the end of every log in |dir|.
fail() { echo "FAIL: $*"; tail -5 "$dir"/*.log 2>/dev/null || true; exit 1; }
# A TCP port free on 127.0.0.1 now (the kernel's choice).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
