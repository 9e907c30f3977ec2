#!/bin/sh
# Build the #23 wine probes with mingw-w64 and run them under wine 8 in a private prefix.
# Prints each probe's lines (`ok …`, `no …: …`, `info …`). For probe 4 this script truncates
# the probe's data file from the host side (Linux `truncate -s 0`) while the view is mapped.
#   scripts/cross/wine-probes/run.sh
# Environment: WINE_PROBES_PREFIX (default /tmp/wine-probes), WINE_PROBES_WORK (default
# /tmp/wine-probes-work, holds the .exe files and probe 4's data file). Never CI's prefix.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${WINE_PROBES_PREFIX:-/tmp/wine-probes}
work=${WINE_PROBES_WORK:-/tmp/wine-probes-work}
wine=/usr/lib/wine/wine64            # Debian keeps wine64 outside PATH
[ -x "$wine" ] || wine=$(command -v wine64)
export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
mkdir -p "$work"

if [ ! -f "$prefix/system.reg" ]; then
  echo "== creating wine prefix $prefix"
  nice -n 10 "$wine" wineboot -i >"$work/wineboot.log" 2>&1
  nice -n 10 "$wine" winecfg -v win10 >>"$work/wineboot.log" 2>&1
fi

for p in p1_placeholders p2_retire p3_veh p4_inpage; do
  nice -n 10 x86_64-w64-mingw32-gcc -O1 -Wall -o "$work/$p.exe" "$here/$p.c"
done

# stdout must be a file, not a pipe, under wine.
run() {
  name=$1; shift
  echo "== $name"
  rc=0
  nice -n 10 timeout 120 "$wine" "$work/$name.exe" "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  cat "$work/$name.out"
  echo "exit $rc"
  if [ -s "$work/$name.err" ]; then echo "-- stderr (last 5 lines)"; tail -n 5 "$work/$name.err"; fi
}

run p1_placeholders
run p2_retire
run p3_veh

# Probe 4: start it, wait for p4.ready, truncate from the host, then create p4.go.
rm -f "$work/p4.ready" "$work/p4.go" "$work/p4.dat"
winwork="Z:$(printf '%s' "$work" | sed 's|/|\\|g')"
echo "== p4_inpage"
rc=0
( nice -n 10 timeout 120 "$wine" "$work/p4_inpage.exe" "$winwork" >"$work/p4_inpage.out" 2>"$work/p4_inpage.err" ) &
pid=$!
i=0
while [ ! -f "$work/p4.ready" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
if [ -f "$work/p4.ready" ]; then
  sleep 0.2   # the probe closes p4.ready right after writing it
  target=$(sed 's|^[Zz]:||; s|\\|/|g' "$work/p4.ready")
  echo "info host: truncate -s 0 $target (size before: $(stat -c %s "$target"))"
  truncate -s 0 "$target"
  touch "$work/p4.go"
else
  echo "no host: p4.ready did not appear"
fi
wait $pid || rc=$?
cat "$work/p4_inpage.out"
echo "exit $rc"
if [ -s "$work/p4_inpage.err" ]; then echo "-- stderr (last 5 lines)"; tail -n 5 "$work/p4_inpage.err"; fi
