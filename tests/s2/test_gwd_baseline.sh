#!/bin/bash
# The iomt-gwd suites again, on the daemon's --baseline path (recvmmsg /
# sendmmsg ingress, per-call OpenSSL SHAKE128): the io_uring path is the
# default, and both must behave the same. Copies of the suite binaries run
# next to a bin/ whose iomt-gwd adds --baseline to every daemon start (the
# suites find their programs in ../../bin from their own path), the other
# programs linked in unchanged; the script suites get it through SYS_BIN.
# One TAP line per suite; its own output follows as comments.
#   s2.gwd, data.relay (but its nm check of the binary, which here is the
#   wrapper script), kdc.flow (the gateway role), s0/test_e2e.sh.
# (s2.gwd_uring checks the io_uring path itself and has its own baseline
# cases.)
cd "$(dirname "$0")/../.." || exit 1
. tests/tap.sh
BUILD=${BUILD:-build}
B=$(cd "$BUILD" 2>/dev/null && pwd)
if [ -z "$B" ] || [ ! -x "$B/bin/iomt-gwd" ]; then
	tap_skip s2.gwd_baseline "$BUILD/bin/iomt-gwd not built (make)"
	tap_done
	exit
fi
W=$(mktemp -d /tmp/iomt-gwd-baseline.XXXXXX) || exit 1
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/bin" "$W/tests/s2" "$W/tests/data" "$W/tests/kdc"
for p in "$B"/bin/*; do
	[ "${p##*/}" = iomt-gwd ] || ln -s "$p" "$W/bin/"
done
cat >"$W/bin/iomt-gwd" <<WRAP
#!/bin/sh
case "\${1:-}" in
provision | -h | --help | -V | --version) exec "$B/bin/iomt-gwd" "\$@" ;;
esac
exec "$B/bin/iomt-gwd" --baseline "\$@"
WRAP
chmod +x "$W/bin/iomt-gwd"

# run NAME COMMAND...: one TAP line from the suite's totals line.
run() {
	local name=$1 out totals
	shift
	out=$("$@" 2>&1)
	totals=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	printf '%s\n' "$out" | sed 's/^/# /'
	if [ -z "$totals" ]; then
		tap_fail "$name on --baseline" "no totals line"
	elif printf '%s' "$totals" | grep -q ' 0 failed'; then
		tap_ok "$name on --baseline ($totals)"
	else
		tap_fail "$name on --baseline" "$totals"
	fi
}

# The wrapper really is in use: the daemon logs baseline mode.
"$W/bin/iomt-gwd" --mec=no --relay --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
	--log-file "$W/probe.log" &
probe=$!
for _ in $(seq 1 100); do grep -q "baseline mode" "$W/probe.log" 2>/dev/null && break; sleep 0.05; done
kill -TERM "$probe" 2>/dev/null
wait "$probe"
tap_check "the wrapper starts iomt-gwd in baseline mode" grep -q "baseline mode" "$W/probe.log"

for s in s2/test_gwd data/test_relay kdc/test_flow; do
	if [ ! -x "$B/tests/$s" ]; then
		tap_skip "$s on --baseline" "$BUILD/tests/$s not built"
		continue
	fi
	cp "$B/tests/$s" "$W/tests/$s"
	case $s in
	data/test_relay) run "$s" "$W/tests/$s" -t .gw. ;;
	*) run "$s" "$W/tests/$s" ;;
	esac
done
run s0/test_e2e.sh env SYS_BIN="$W/bin" tests/s0/test_e2e.sh
tap_done
