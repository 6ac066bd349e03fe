#!/usr/bin/env bash
# The script behind README's "The paper preset on a GPU, with the warm-up" table: `hyperseg ablate`
# itself on one GPU (the earlier table came from docs/paper-gpu-session.sh, which drives train/segment
# one by one). Two ablate folders on the same data, at once:
#   A: every configuration with seed 0 (six rows, the autoencoder baseline, the three feature baselines);
#   B: seed 1 for the Euclidean base and the full model (the two seed-1 runs of the earlier table).
# Run on a lent machine with no network from the repository root, carrying .dev (Node and the npm
# packages compressed: node.xz, nm.tar.xz; pyzmq and nibabel wheels in .dev/whl) and dist (the build):
#   OUT=... bash docs/paper-gpu-ablate.sh
# DEVICE=cpu STEPS=4 COUNT=6 SIZE=24 runs the same plumbing on a CPU (about 4 minutes on two cores).
set -u
OUT=${OUT:-/tmp/gpuout}; mkdir -p "$OUT"
DEVICE=${DEVICE:-cuda}; STEPS=${STEPS:-3000}; COUNT=${COUNT:-30}; SIZE=${SIZE:-50}; THREADS=${THREADS:-1}
T_ABLATE=${T_ABLATE:-520}; PRESET=${PRESET:-paper}
W=${W:-/tmp/hw}; rm -rf "$W"; mkdir -p "$W"
exec > >(tee -a "$OUT/log.txt") 2>&1
. docs/gpu-env.sh

node dist/cli/main.js synth --out "$W/d" --count "$COUNT" --size "$SIZE" --seed 0 --json > /dev/null || { say "synth failed"; exit 1; }
say "data: $COUNT volumes of $SIZE³"
common=(ablate --data "$W/d" --preset "$PRESET" --steps "$STEPS" --device "$DEVICE" --threads "$THREADS")
# SIGINT at the limit: ablate stops its runs at a resumable checkpoint and says so
(timeout -s INT -k 30 "$T_ABLATE" node dist/cli/main.js "${common[@]}" --out "$W/a0" --seed 0 --concurrent 7 > "$OUT/a0.log" 2>&1; echo "A (seed 0, all): ablate exit $?") &
pa=$!
(timeout -s INT -k 30 "$T_ABLATE" node dist/cli/main.js "${common[@]}" --out "$W/a1" --seed 1 --only euclidean-base hyperbolic-gyroconv-triplet --concurrent 3 > "$OUT/a1.log" 2>&1; echo "B (seed 1): ablate exit $?") &
pb=$!
# every minute: each run's last logged step and loss terms, and the GPU's load
while kill -0 "$pa" 2>/dev/null || kill -0 "$pb" 2>/dev/null; do
  sleep "${EVERY_S:-60}"
  say "progress"
  for m in "$W"/a*/*/run/metrics.jsonl; do [ -f "$m" ] && echo "  ${m#"$W"/}: $(tail -n 1 "$m" | cut -c1-160)"; done
  [ "$DEVICE" != cpu ] && nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
  uptime
done
wait "$pa" "$pb"
say "ablate done"
for a in a0 a1; do
  echo "== $a"; cat "$W/$a/ablation.md" 2>/dev/null || tail -n 30 "$OUT/$a.log"
  cp "$W/$a/ablation.json" "$OUT/$a-ablation.json" 2>/dev/null
done
(cd "$W" && tar -czf "$OUT/runs.tar.gz" --exclude='*.safetensors' --exclude='*.nii.gz' --exclude='*.npy' --exclude='*.arrow' a0 a1 2>/dev/null)
ls -la "$OUT"
say "done"
