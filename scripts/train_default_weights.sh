#!/usr/bin/env bash
# Rebuilds the shipped default weights (weights/tiny_age_net.safetensors) from the shared UTKFace data, in two
# stages, each keeping its best epoch on the val split:
#   1. TinyAgeNet at 64x64 from scratch, objective dldl_v2, the paper's augmentation, 20 epochs (lr 1e-3, cosine);
#   2. from stage 1's weights, 12 more epochs with the light augmentation, lr 5e-4 (cosine, 1 warm-up epoch) and an
#      exponential moving average of the weights (decay 0.998), which is the network validated and kept.
# Each stage resumes from its checkpoint when the script is run again, so an interrupted run continues where it
# stopped. Threads: OMP_NUM_THREADS (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/datasets/utkface}
RUNS=${RUNS:-runs}
DLDL=${DLDL:-dldl}
COMMON=(--data "$DATA/images" --manifest "$DATA/manifest.csv" --arch tiny --objective dldl_v2 --input-size 64
        --batch-size 128 --resume --no-progress)
$DLDL train "${COMMON[@]}" --epochs 20 --lr 1e-3 --out "$RUNS/tiny_64.safetensors"
$DLDL train "${COMMON[@]}" --epochs 12 --warmup-epochs 1 --lr 5e-4 --ema 0.998 --augment light \
  --init "$RUNS/tiny_64.safetensors" --out "$RUNS/tiny_64_ft.safetensors"
mkdir -p weights
cp "$RUNS/tiny_64_ft.safetensors" weights/tiny_age_net.safetensors
cp "$RUNS/tiny_64_ft.json" weights/tiny_age_net.json
cat "$RUNS/tiny_64.log.jsonl" > weights/tiny_age_net.train_log.jsonl
sed 's/^{/{"stage": 2, /' "$RUNS/tiny_64_ft.log.jsonl" >> weights/tiny_age_net.train_log.jsonl
echo "default weights rebuilt in weights/; measure them with: python scripts/build_model_card.py --data $DATA"
