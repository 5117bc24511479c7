#!/usr/bin/env bash
# Rebuilds the shipped default weights (weights/tiny_age_net.safetensors) from the shared UTKFace data.
# Stage 1 trains TinyAgeNet at 64x64 (fast on a CPU); stage 2 fine-tunes it at 96x96, the shipped input size.
# Both stages resume from their checkpoints when run again, so an interrupted run continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/datasets/utkface}
RUNS=${RUNS:-runs}
DLDL=${DLDL:-dldl}
$DLDL train --data "$DATA/images" --manifest "$DATA/manifest.csv" --arch tiny --objective dldl_v2 \
  --input-size 64 --epochs 20 --batch-size 128 --lr 1e-3 --out "$RUNS/tiny_64.safetensors" --resume --no-progress
$DLDL train --data "$DATA/images" --manifest "$DATA/manifest.csv" --arch tiny --objective dldl_v2 \
  --input-size 96 --epochs 3 --batch-size 128 --lr 3e-4 --warmup-epochs 0 --init "$RUNS/tiny_64.safetensors" \
  --out "$RUNS/tiny_96.safetensors" --resume --no-progress
mkdir -p weights
cp "$RUNS/tiny_96.safetensors" weights/tiny_age_net.safetensors
cp "$RUNS/tiny_96.json" weights/tiny_age_net.json
cat "$RUNS/tiny_64.log.jsonl" "$RUNS/tiny_96.log.jsonl" > weights/tiny_age_net.train_log.jsonl
echo "default weights rebuilt in weights/"
