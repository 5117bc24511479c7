#!/usr/bin/env bash
# Rebuilds the shipped default weights (weights/tiny_age_net.safetensors) from the shared UTKFace data:
# TinyAgeNet at 64x64, objective dldl_v2, 20 epochs, the best epoch on the val split kept.
# It resumes from its checkpoint when run again, so an interrupted run continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/datasets/utkface}
RUNS=${RUNS:-runs}
DLDL=${DLDL:-dldl}
$DLDL train --data "$DATA/images" --manifest "$DATA/manifest.csv" --arch tiny --objective dldl_v2 \
  --input-size 64 --epochs 20 --batch-size 128 --lr 1e-3 --out "$RUNS/tiny_64.safetensors" --resume --no-progress
mkdir -p weights
cp "$RUNS/tiny_64.safetensors" weights/tiny_age_net.safetensors
cp "$RUNS/tiny_64.json" weights/tiny_age_net.json
cp "$RUNS/tiny_64.log.jsonl" weights/tiny_age_net.train_log.jsonl
echo "default weights rebuilt in weights/; measure them with: python scripts/build_model_card.py --data $DATA"
