#!/usr/bin/env bash
# Endurance run (not part of CI: it takes long): trains examples/dcgan for many steps on the
# procedural shapes data (32 x 32, batch 8, cpu backend) and samples the process's resident
# memory (VmRSS from /proc/PID/status) every few seconds. Reports the RSS at 10 %, 50 % and
# 100 % of the steps and checks two things, each against a margin of 10 % + 16 MiB:
#  - the floor (lowest sample) of the last quarter against that of steps 10 % to 25 %: a leak
#    raises every sample, the floor too, and one of 4 kB per step adds more than the margin
#    over the 6,500 steps from 10 % to 75 %. The floor ignores the short spike of the
#    per-epoch sample grid and checkpoint, and the allocator's occasional extra 20 MiB or so
#    that comes and goes; each window holds tens of samples, so it holds a low one;
#  - the peak of the second half against the peak of steps 10 % to 50 %: the spikes stay
#    bounded. Both windows span 16 or more epochs at 10,000 steps, so both catch the spike (a
#    10 % to 20 % window was seen to miss it, which left 6 MiB between a flat run and a failure).
#
#   scripts/endurance.sh [STEPS]        STEPS defaults to 10000
#   env: BUILD_DIR (default build), OUT (default $BUILD_DIR/endurance), INTERVAL (seconds, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-10000}
build=${BUILD_DIR:-build}
out=${OUT:-$build/endurance}
interval=${INTERVAL:-2}
margin_percent=10
margin_kib=$((16 * 1024))

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_CUDA=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target dcgan >/dev/null

rm -rf "$out" && mkdir -p "$out"
# 2000 examples: 250 steps per epoch, so the per-epoch sample grid and checkpoint come 40 times.
"$build/examples/dcgan/dcgan" --data shapes --limit 2000 --batch 8 --steps "$steps" --epochs 1000000 \
    --backend cpu --out "$out/run" >"$out/dcgan.log" 2>&1 &
pid=$!
echo "endurance: dcgan pid $pid, $steps steps; log $out/dcgan.log, samples $out/rss.tsv"

# Samples: elapsed seconds, the last step the progress log shows (printed every 5 s), VmRSS.
start=$SECONDS
echo "elapsed_s step rss_kib" >"$out/rss.tsv"
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  step=$(tail -c 4096 "$out/dcgan.log" | grep -o 'step [0-9]*' | tail -n 1 | cut -d' ' -f2 || true)
  [ -n "$rss" ] && echo "$((SECONDS - start)) ${step:-0} $rss" >>"$out/rss.tsv"
  sleep "$interval"
done
status=0
wait "$pid" || status=$?
elapsed=$((SECONDS - start))
if [ "$status" -ne 0 ]; then
  tail -n 20 "$out/dcgan.log"
  echo "endurance: dcgan exited with status $status"
  exit 1
fi
grep -q "^final step=$steps " "$out/dcgan.log" || { echo "endurance: no 'final step=$steps' line"; exit 1; }

awk -v steps="$steps" -v elapsed="$elapsed" -v pct="$margin_percent" -v slack="$margin_kib" '
  NR > 1 { n++; s[n] = $2; r[n] = $3 }
  END {
    if (n < 3) { print "endurance: only " n " RSS samples; run more steps"; exit 1 }
    # The first sample at or past 10, 25, 50 and 75 % of the steps; the last sample for 100 %.
    for (i = 1; i <= n; i++) {
      if (!a10 && s[i] >= 0.10 * steps) a10 = i
      if (!a25 && s[i] >= 0.25 * steps) a25 = i
      if (!a50 && s[i] >= 0.50 * steps) a50 = i
      if (!a75 && s[i] >= 0.75 * steps) a75 = i
    }
    if (!a75) { print "endurance: the progress log never reached 75 % of the steps"; exit 1 }
    early_floor = late_floor = -1; early_peak = late_peak = 0
    for (i = a10; i <= n; i++) {
      if (i < a25 && (early_floor < 0 || r[i] < early_floor)) early_floor = r[i]
      if (i >= a75 && (late_floor < 0 || r[i] < late_floor)) late_floor = r[i]
      if (i < a50 && r[i] > early_peak) early_peak = r[i]
      if (i >= a50 && r[i] > late_peak) { late_peak = r[i]; at = s[i] }
    }
    floor_limit = early_floor * (1 + pct / 100) + slack
    peak_limit = early_peak * (1 + pct / 100) + slack
    printf "steps %d in %d s (%.2f steps/s), %d RSS samples\n", steps, elapsed, steps / elapsed, n
    printf "RSS at 10%% (step %d): %.1f MiB\n", s[a10], r[a10] / 1024
    printf "RSS at 50%% (step %d): %.1f MiB\n", s[a50], r[a50] / 1024
    printf "RSS at 100%% (step %d): %.1f MiB\n", s[n], r[n] / 1024
    printf "floor RSS, steps 10-25%%: %.1f MiB; last 25%%: %.1f MiB; limit %.1f MiB (+%d%% + %d MiB)\n",
           early_floor / 1024, late_floor / 1024, floor_limit / 1024, pct, slack / 1024
    printf "peak RSS, steps 10-50%%: %.1f MiB; after 50%%: %.1f MiB (step %d); limit %.1f MiB\n",
           early_peak / 1024, late_peak / 1024, at, peak_limit / 1024
    if (late_floor > floor_limit) { print "endurance: FAIL, resident memory grows (a leak)"; exit 1 }
    if (late_peak > peak_limit) { print "endurance: FAIL, the peaks of resident memory grow"; exit 1 }
    print "endurance: OK"
  }' "$out/rss.tsv"
