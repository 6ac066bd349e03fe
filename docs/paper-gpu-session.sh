#!/usr/bin/env bash
# The script behind README's "The paper preset on a GPU" table (OUT=... T_TRAIN=270 T_SEG=200 bash
# docs/paper-gpu-session.sh), as it ran on a lent H100 machine with no network but for two later
# changes (EXTRA, and a bounded wait for pytest at the end) and its setup, now in docs/gpu-env.sh (shared with
# docs/paper-gpu-ablate.sh): Node and the npm
# packages came along compressed in .dev/ (node.xz, nm.tar.xz), pyzmq and nibabel as wheels in .dev/whl.
# Every configuration trains at once (its own Node loop and CUDA worker) for T_TRAIN seconds, is
# stopped by SIGINT (a resumable checkpoint), and all are segmented at the same step (the largest
# checkpoint step every run reached), then evaluated. With the package installed,
# `hyperseg ablate --preset paper --steps 3000 --device cuda --concurrent 7` does the same job.
set -u
OUT=${OUT:-/tmp/gpuout}; mkdir -p "$OUT"
DEVICE=${DEVICE:-cuda}; T_TRAIN=${T_TRAIN:-300}; T_SEG=${T_SEG:-170}; BATCH=${BATCH:-32}; EVERY=${EVERY:-250}
COUNT=${COUNT:-30}; SIZE=${SIZE:-50}; THREADS=${THREADS:-2}; PYTEST=${PYTEST:-1}
RUNS=${RUNS:-"euclidean-base:0 euclidean-triplet:0 hyperbolic-base:0 hyperbolic-gyroconv:0 hyperbolic-triplet:0 hyperbolic-gyroconv-triplet:0 euclidean-base:1 hyperbolic-gyroconv-triplet:1"}
W=${W:-/tmp/hw}; rm -rf "$W"; mkdir -p "$W/cfg" "$W/r" "$W/s"
exec > >(tee -a "$OUT/log.txt") 2>&1
. docs/gpu-env.sh
hs() { node dist/cli/main.js "$@"; }

pp=''
if [ "$PYTEST" = 1 ]; then
  (timeout "${T_PYTEST:-400}" nice -n 19 python3 -m pytest -q -n 2 -p no:cacheprovider python-env/tests > "$OUT/pytest.txt" 2>&1; echo "pytest exit $?" >> "$OUT/pytest.txt") &
  pp=$!
fi

hs synth --out "$W/d" --count "$COUNT" --size "$SIZE" --seed 0 --json > /dev/null || { say "synth failed"; exit 1; }
say "data: $COUNT volumes"
# EXTRA: more model settings for every run, e.g. EXTRA='"lr_warmup":0,' (note the trailing comma)
EXTRA=${EXTRA:-}
cfg() {
  case $1 in
    euclidean-base) echo "{$EXTRA\"hyperbolic\":false,\"gyroconv\":false,\"triplet\":false}" ;;
    euclidean-triplet) echo "{$EXTRA\"hyperbolic\":false,\"gyroconv\":false,\"triplet\":true}" ;;
    hyperbolic-base) echo "{$EXTRA\"hyperbolic\":true,\"gyroconv\":false,\"triplet\":false}" ;;
    hyperbolic-gyroconv) echo "{$EXTRA\"hyperbolic\":true,\"gyroconv\":true,\"triplet\":false}" ;;
    hyperbolic-triplet) echo "{$EXTRA\"hyperbolic\":true,\"gyroconv\":false,\"triplet\":true}" ;;
    hyperbolic-gyroconv-triplet) echo "{$EXTRA\"hyperbolic\":true,\"gyroconv\":true,\"triplet\":true}" ;;
  esac
}
names=(); tp=(); sp=()
for spec in $RUNS; do
  name=${spec%%:*}; seed=${spec##*:}; run=$name-s$seed; names+=("$run")
  cfg "$name" > "$W/cfg/$name.json"
  (timeout -s INT -k 30 "$T_TRAIN" node dist/cli/main.js train --data "$W/d" --out "$W/r/$run" --preset paper --config "$W/cfg/$name.json" \
     --seed "$seed" --steps 10000000 --batch "$BATCH" --checkpoint-every "$EVERY" --keep 1000 --device "$DEVICE" --threads "$THREADS" --json \
     > "$W/train-$run.json" 2> "$W/train-$run.err"; echo "$run: train exit $?") &
  tp+=($!)
done
sleep 75
started=0; for run in "${names[@]}"; do [ -s "$W/r/$run/metrics.jsonl" ] && started=$((started + 1)); done
say "$started of ${#names[@]} runs have written metrics"
for run in "${names[@]}"; do echo "$run: $(tail -n 1 "$W/r/$run/metrics.jsonl" 2>/dev/null | cut -c1-200)"; done
if [ "$started" = 0 ]; then
  say "no run trains: stopping"; for f in "$W"/train-*.err; do echo "== $f"; tail -n 20 "$f"; done
  kill "${tp[@]}" 2>/dev/null; pkill -f hyperseg_worker; exit 1
fi
rest=$(( T_TRAIN / 2 - 75 )); [ "$rest" -gt 0 ] && sleep "$rest"
[ "$DEVICE" != cpu ] && nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
uptime
wait "${tp[@]}"
say "training stopped"
S=''
for run in "${names[@]}"; do
  last=$(ls "$W/r/$run/checkpoints" 2>/dev/null | sed -n 's/^step-0*\([0-9]*\)\.safetensors$/\1/p' | awk -v e="$EVERY" '$1 % e == 0' | sort -n | tail -1)
  total=$(tail -1 "$W/r/$run/metrics.jsonl" 2>/dev/null | cut -c1-300)
  say "$run: last checkpoint at a multiple of $EVERY: ${last:-none}; last metrics: $total"
  [ -z "$last" ] && { S=none; break; }
  if [ -z "$S" ] || [ "$last" -lt "$S" ]; then S=$last; fi
done
[ "$S" = none ] || [ -z "$S" ] && { say "a run reached no common checkpoint"; for f in "$W"/train-*.err; do tail -n 5 "$f"; done; exit 1; }
say "segmenting every run at step $S"
for run in "${names[@]}"; do
  (timeout "$T_SEG" node dist/cli/main.js segment --model "$W/r/$run/checkpoints/step-$(printf %06d "$S").safetensors" --input "$W/d" --out "$W/s/$run" \
     --seed 0 --device "$DEVICE" --threads "$THREADS" --json > "$W/seg-$run.json" 2> "$W/seg-$run.err" \
   && node dist/cli/main.js evaluate --run "$W/s/$run" --json > "$W/eval-$run.json" 2> "$W/eval-$run.err"; echo "$run: segment+evaluate exit $?") &
  sp+=($!)
done
wait "${sp[@]}"
say "segmented"
node --input-type=module -e '
import { readFileSync, existsSync } from "node:fs";
const [W, S, ...names] = process.argv.slice(1);
for (const run of names) {
  const f = `${W}/s/${run}/report.json`;
  if (!existsSync(f)) { console.log(`${run}\tno report`); continue; }
  const r = JSON.parse(readFileSync(f, "utf8"));
  const a = r.aggregates ?? r.levels ?? r;
  console.log(`${run}\tstep ${S}\t${JSON.stringify(a).slice(0, 600)}`);
}' "$W" "$S" "${names[@]}" | tee "$OUT/results.txt"
(cd "$W" && tar -czf "$OUT/runs.tar.gz" --exclude='*.safetensors' --exclude='*.nii.gz' --exclude='*.npy' --exclude='*.png' cfg r s train-* seg-* eval-* 2>/dev/null)
# pytest gets 20 s more at most: an unbounded wait here once ran the call into its time limit
if [ -n "$pp" ]; then for _ in $(seq 20); do kill -0 "$pp" 2>/dev/null || break; sleep 1; done; kill "$pp" 2>/dev/null; fi
ls -la "$OUT"
say "done"
