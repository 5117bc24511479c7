#!/usr/bin/env bash
# Rebuilds the shipped weights from the shared UTKFace data: weights/thin_age_net.safetensors (ThinAgeNet, the
# default, 160x160) and weights/tiny_age_net.safetensors (TinyAgeNet, the fastest, 64x64). Objective dldl_v2, in
# stages, each keeping its best epoch on the val split (stage 4 of ThinAgeNet its last):
#   1. from scratch at 64x64, lr 1e-3 (cosine): TinyAgeNet 20 epochs with the paper's augmentation; ThinAgeNet 14
#      epochs (1 warm-up epoch) with the light augmentation;
#   2. from stage 1's weights, 12 epochs with the light augmentation, lr 5e-4 (cosine, 1 warm-up epoch) and an
#      exponential moving average of the weights (decay 0.998), which is the network validated and kept;
#   3. ThinAgeNet: from stage 2's weights, the same for 14 epochs at lr 3e-4; TinyAgeNet, its last: from stage 2's
#      weights, 10 epochs at lr 2e-4 (cosine, 1 warm-up epoch), EMA 0.998 and the wild_night augmentation (below);
#   4. ThinAgeNet only: from stage 3's weights, 10 epochs at lr 2e-4 (cosine, 1 warm-up epoch), EMA 0.998 and the
#      wild_light augmentation (the paper's rotation, lighter jitter and grayscale, and at 10-20 % rates each a
#      perspective warp, directional light, colour casts, pasted occluders, blur, low resolution and JPEG:
#      dldl_core/data/augment.py), keeping the last epoch (chosen on benchmarks/wild_proxy.py);
#   5. ThinAgeNet only: from stage 4's weights at 128x128 (progressive resizing), 14 epochs, batch 64, lr 3e-4
#      (cosine, 1 warm-up epoch), EMA 0.998, wild_light;
#   6. ThinAgeNet only: from stage 5's weights, a second low-learning-rate cycle at 128x128, 6 epochs, batch 64,
#      lr 1e-4 (cosine, 1 warm-up epoch), EMA 0.998, wild_light;
#   7. ThinAgeNet only: from stage 6's weights, stage 6's cycle with the wild_night augmentation (wild_light plus
#      dim, grainy exposures on 15 % of the faces), keeping the best epoch;
#   8. ThinAgeNet only, on a GPU: from stage 7's weights at 160x160, 33 epochs, batch 128, lr 3e-4 (cosine, 1 warm-up
#      epoch), EMA 0.998, wild_night, keeping the last epoch (the shipped run: 7-12 s an epoch on one H200, its
#      epochs set by --time-budget 350, the train chips re-encoded as WebP quality 72 to fit the transfer there);
#   9. ThinAgeNet only: from stage 8's weights, a second cycle at 160x160, 14 epochs, lr 1e-4, otherwise as stage 8
#      (the shipped run: --time-budget 185);
#  10. ThinAgeNet only: from stage 9's weights, three fine-tunes side by side (seeds 1-3, lr 1e-4, 1.5e-4 and 2e-4;
#      21, 22 and 24 epochs, set by --time-budget 370 in the shipped run; otherwise as stage 9), then the mean of
#      their weights (`dldl soup`: a weight soup);
#  11. ThinAgeNet only: three more from stage 10's mean (seeds 11-13, the same learning rates; 22, 24 and 23 epochs,
#      --time-budget 300), then the mean of all six networks of stages 10 and 11;
#  12. ThinAgeNet only, the shipped default, on a CPU: from stage 11's mean, 5 epochs at 160x160, lr 1e-4 (cosine, 1
#      warm-up epoch), batch 128, EMA 0.998 and the wild_eyewear augmentation (wild_night plus glasses over the eyes
#      on 15 % of the faces and twice its occluders), keeping the last epoch (the shipped run: --time-budget 4200,
#      one loader process, 250 val faces watched each epoch instead of all 2,357).
#   Tried and not shipped (see the model card): `thin128` (stage 3's weights, 6 epochs of the `wild` augmentation,
#   then `wild_light`, at 128x128) and `thin128_resample` (stage 5 with wild_resample, val 5.035).
#   `thin128_from_stage4` runs stage 5 alone; for it and thin128_resample, INIT=<64 px stage-4 weights> starts from
#   those without rerunning stages 1-4.
#   `thin128_restart` runs stage 6 alone, from INIT (a stage-5 network; default: this folder's stage 5).
#   `thin128_cycle3` (tried) runs stage 6's recipe once more, from INIT (default: this folder's stage 6);
#   `thin128_night` runs stage 7 alone, from INIT (default: this folder's stage 6).
#   `tiny_night` runs TinyAgeNet's stage 3 alone, from INIT (default: this folder's stage 2).
#   `tiny128` (tried, not shipped: val 5.589 against stage 3's 5.207) runs TinyAgeNet at 128x128 from INIT (default:
#   this folder's stage 3), 8 epochs, batch 64, lr 3e-4 (cosine, 1 warm-up epoch), EMA 0.998, wild_night.
#   `thin160_soup` runs stages 10 and 11 alone, from INIT (default: this folder's stage 9), and ships their soup;
#   `thin160_eyewear` runs stage 12 alone, from INIT (default: this folder's stage 11), and ships it.
#   `thin160_hands` (tried, not shipped: no change on val or under the wild proxy's hand, see the card) fine-tunes
#   stage 12 for 3 epochs with the wild_hands augmentation (wild_eyewear plus hands in the face's skin colour), from
#   INIT (default: this folder's stage 12); it does not ship.
#   `thin160_heads` (tried, not shipped: chips unchanged, nodded heads 0.07 years better, see the card) fine-tunes
#   stage 12 for 3 epochs with the wild_heads augmentation (wild_eyewear plus heads turned or nodded on a
#   cylinder), from INIT (default: this folder's stage 12); it does not ship.
#   `thin160` runs stages 8 and 9 alone, from INIT (default: this folder's stage 7), and ships them; `thin224`
#   (tried, not shipped: val 4.771 against 160 px's 4.683) runs the same two cycles at 224x224 (26 epochs at
#   3e-4, then 15 at 2e-4). All three want a GPU; WORKERS (default 7; 4 for each of three side by side) sets
#   their data-loading processes.
#
#   scripts/train_default_weights.sh [thin|tiny|all|thin128|thin128_from_stage4|thin128_resample|thin128_restart|
#                                     thin128_cycle3|thin128_night|tiny_night|tiny128|thin160|thin160_soup|
#                                     thin160_eyewear|thin160_hands|thin160_heads|
#                                     thin224]   (default: all)
#
# Each stage resumes from its checkpoint when the script is run again, so an interrupted run continues where it
# stopped. Threads: OMP_NUM_THREADS (default: all cores). Then measure them, write their cards and pin them again
# (the pins hold the sidecar's metrics too):
#   python scripts/build_model_card.py --data ../shared/datasets/utkface --weights weights/<name>.safetensors
#   python scripts/pin_weights.py
# Before the card, its measured sections (each tied to the weights' sha256 by the tests):
#   python benchmarks/wild_proxy.py --data ../shared/datasets/utkface --limit 200 --weights <file> --json \
#     > weights/<name>.wild_proxy.current.json   (then add a "note" on what the pipeline changed, if anything)
#   python benchmarks/smiles.py --weights <file> --out weights/<name>.smiles.json
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/datasets/utkface}
RUNS=${RUNS:-runs}
DLDL=${DLDL:-dldl}
PYTHON=${PYTHON:-python}
WHICH=${1:-all}
case "$WHICH" in
  thin|tiny|all|thin128|thin128_from_stage4|thin128_resample|thin128_restart|thin128_cycle3|thin128_night|tiny_night|\
  tiny128|thin160|thin160_soup|thin160_eyewear|thin160_hands|thin160_heads|thin224) ;;
  *) echo "usage: $0 [thin|tiny|all|thin128|thin128_from_stage4|thin128_resample|thin128_restart|thin128_cycle3|\
thin128_night|tiny_night|tiny128|thin160|thin160_soup|thin160_eyewear|thin160_hands|thin160_heads|thin224]" >&2
     exit 2 ;;
esac

train_stage() {  # arch, run name, options...: one stage, resumed from its checkpoint when there is one
  local arch=$1 run=$2; shift 2
  $DLDL train --data "$DATA/images" --manifest "$DATA/manifest.csv" --arch "$arch" --objective dldl_v2 \
    --input-size 64 --batch-size 128 --resume --no-progress "$@" --out "$RUNS/$run.safetensors"
}

fine_tune() {  # arch, run name, from run, epochs, lr
  train_stage "$1" "$2" --epochs "$4" --warmup-epochs 1 --lr "$5" --ema 0.998 --augment light \
    --init "$RUNS/$3.safetensors"
}

thin_stage5() {  # init weights: ThinAgeNet from its 64 px stage 4 to 128x128
  train_stage thin thin_128_long --input-size 128 --batch-size 64 --epochs 14 --warmup-epochs 1 --lr 3e-4 \
    --ema 0.998 --augment wild_light --init "$1"
}

thin_stage6() {  # init weights[, run name[, augmentation]]: a second, low-learning-rate cycle at 128x128 from stage 5
  train_stage thin "${2:-thin_128_restart}" --input-size 128 --batch-size 64 --epochs 6 --warmup-epochs 1 --lr 1e-4 \
    --ema 0.998 --augment "${3:-wild_light}" --init "$1"
}

gpu_cycle() {  # size, run name, init weights, epochs, lr[, seed]: a cycle at a larger input on a GPU (stages 8-11)
  train_stage thin "$2" --input-size "$1" --batch-size 128 --epochs "$4" --warmup-epochs 1 --lr "$5" --ema 0.998 \
    --augment wild_night --keep last --workers "${WORKERS:-7}" --seed "${6:-0}" --init "$3"
}

soup_stage() {  # run name, init weights, first seed, three epoch counts: three fine-tunes side by side at lr 1e-4,
  # 1.5e-4 and 2e-4, then the mean of their weights as the run's weights (stages 10 and 11; WORKERS=4 each)
  local run=$1 init=$2 seed=$3 WORKERS=${WORKERS:-4}
  gpu_cycle 160 "${run}1" "$init" "$4" 1e-4 "$seed" &
  gpu_cycle 160 "${run}2" "$init" "$5" 1.5e-4 $((seed + 1)) &
  gpu_cycle 160 "${run}3" "$init" "$6" 2e-4 $((seed + 2)) &
  wait
}

tiny_stage3() {  # init weights: TinyAgeNet's stage 2 fine-tuned with dim, grainy exposures among the wild effects
  train_stage tiny tiny_64_night --epochs 10 --warmup-epochs 1 --lr 2e-4 --ema 0.998 --augment wild_night --init "$1"
}

eyewear_stage() {  # init weights: stage 12, the soup fine-tuned on a CPU with glasses among the occluders
  train_stage thin thin_160_eyewear --input-size 160 --batch-size 128 --epochs 5 --warmup-epochs 1 --lr 1e-4 \
    --ema 0.998 --augment wild_eyewear --keep last --workers 1 --seed 21 --init "$1"
}

hands_stage() {  # init weights: tried, not shipped: stage 12 fine-tuned with hands among the occluders
  train_stage thin thin_160_hands --input-size 160 --batch-size 128 --epochs 3 --warmup-epochs 1 --lr 1e-4 \
    --ema 0.998 --augment wild_hands --keep last --workers 1 --seed 22 --init "$1"
}

heads_stage() {  # init weights: tried: stage 12 fine-tuned with heads turned and nodded on a cylinder
  train_stage thin thin_160_heads --input-size 160 --batch-size 128 --epochs 3 --warmup-epochs 1 --lr 1e-4 \
    --ema 0.998 --augment wild_heads --keep last --workers 1 --seed 23 --init "$1"
}

thin_soup_stages() {  # init weights: stages 10 and 11, each three fine-tunes averaged; the six averaged at the end
  soup_stage thin_160_soup_a "$1" 1 21 22 24
  $DLDL soup "$RUNS"/thin_160_soup_a{1,2,3}.safetensors --out "$RUNS/thin_160_soup_a.safetensors"
  soup_stage thin_160_soup_b "$RUNS/thin_160_soup_a.safetensors" 11 22 24 23
  $DLDL soup "$RUNS"/thin_160_soup_{a,b}{1,2,3}.safetensors --out "$RUNS/thin_160_soup.safetensors"
}

ship_side_by_side() {  # stage, runs: append a stage of networks trained side by side to the default's log, the
  # lines of its i-th run marked "ingredient": i
  local stage=$1 i=1 log=weights/thin_age_net.train_log.jsonl; shift
  for run in "$@"; do
    sed "s/^{/{\"stage\": $stage, \"ingredient\": $i, /" "$RUNS/$run.log.jsonl" >> "$log"
    i=$((i + 1))
  done
}

ship() {  # arch, runs in order: the last one's weights, every stage's log (stage k's lines marked "stage": k)
  local arch=$1; shift
  local last=${*: -1} log="weights/${arch}_age_net.train_log.jsonl" stage=1
  mkdir -p weights
  cp "$RUNS/$last.safetensors" "weights/${arch}_age_net.safetensors"
  cp "$RUNS/$last.json" "weights/${arch}_age_net.json"
  : > "$log"
  for run in "$@"; do
    if (( stage == 1 )); then cat "$RUNS/$run.log.jsonl" >> "$log"
    else sed "s/^{/{\"stage\": $stage, /" "$RUNS/$run.log.jsonl" >> "$log"; fi
    stage=$((stage + 1))
  done
  echo "weights/${arch}_age_net.safetensors rebuilt"
}

if [[ $WHICH == thin || $WHICH == all ]]; then
  train_stage thin thin_64 --epochs 14 --warmup-epochs 1 --lr 1e-3 --augment light
  fine_tune thin thin_64_ft thin_64 12 5e-4
  fine_tune thin thin_64_ft2 thin_64_ft 14 3e-4
  train_stage thin thin_64_wild_light --epochs 10 --warmup-epochs 1 --lr 2e-4 --ema 0.998 --augment wild_light \
    --keep last --init "$RUNS/thin_64_ft2.safetensors"
  thin_stage5 "$RUNS/thin_64_wild_light.safetensors"
  thin_stage6 "$RUNS/thin_128_long.safetensors"
  thin_stage6 "$RUNS/thin_128_restart.safetensors" thin_128_night wild_night
  gpu_cycle 160 thin_160 "$RUNS/thin_128_night.safetensors" 33 3e-4
  gpu_cycle 160 thin_160_cycle2 "$RUNS/thin_160.safetensors" 14 1e-4
  thin_soup_stages "$RUNS/thin_160_cycle2.safetensors"
  ship thin thin_64 thin_64_ft thin_64_ft2 thin_64_wild_light thin_128_long thin_128_restart thin_128_night thin_160 \
    thin_160_cycle2
  ship_side_by_side 10 thin_160_soup_a{1,2,3}
  ship_side_by_side 11 thin_160_soup_b{1,2,3}
  eyewear_stage "$RUNS/thin_160_soup.safetensors"
  sed "s/^{/{\"stage\": 12, /" "$RUNS/thin_160_eyewear.log.jsonl" >> weights/thin_age_net.train_log.jsonl
  cp "$RUNS/thin_160_eyewear.safetensors" weights/thin_age_net.safetensors
  cp "$RUNS/thin_160_eyewear.json" weights/thin_age_net.json
  $PYTHON scripts/pin_weights.py  # the ONNX graph and the sha256 pins of the new weights
fi
if [[ $WHICH == thin160 ]]; then  # stages 8 and 9 alone, from INIT or this folder's stage 7; the log is not rebuilt
  gpu_cycle 160 thin_160 "${INIT:-$RUNS/thin_128_night.safetensors}" 33 3e-4
  gpu_cycle 160 thin_160_cycle2 "$RUNS/thin_160.safetensors" 14 1e-4
  cp "$RUNS/thin_160_cycle2.safetensors" weights/thin_age_net.safetensors
  cp "$RUNS/thin_160_cycle2.json" weights/thin_age_net.json
  $PYTHON scripts/pin_weights.py
fi
if [[ $WHICH == thin160_soup ]]; then  # stages 10 and 11 alone, from INIT or this folder's stage 9, and ships
  # the mean of their six networks (a weight soup); the log is not rebuilt
  thin_soup_stages "${INIT:-$RUNS/thin_160_cycle2.safetensors}"
  cp "$RUNS/thin_160_soup.safetensors" weights/thin_age_net.safetensors
  cp "$RUNS/thin_160_soup.json" weights/thin_age_net.json
  $PYTHON scripts/pin_weights.py
fi
if [[ $WHICH == thin160_eyewear ]]; then  # stage 12 alone, from INIT or this folder's stage 11, and ships it; the log
  # is not rebuilt
  eyewear_stage "${INIT:-$RUNS/thin_160_soup.safetensors}"
  cp "$RUNS/thin_160_eyewear.safetensors" weights/thin_age_net.safetensors
  cp "$RUNS/thin_160_eyewear.json" weights/thin_age_net.json
  $PYTHON scripts/pin_weights.py
fi
if [[ $WHICH == thin160_hands ]]; then  # tried, not shipped: the weights stay in the runs folder
  hands_stage "${INIT:-$RUNS/thin_160_eyewear.safetensors}"
fi
if [[ $WHICH == thin160_heads ]]; then  # tried, not shipped: the weights stay in the runs folder
  heads_stage "${INIT:-$RUNS/thin_160_eyewear.safetensors}"
fi
if [[ $WHICH == thin224 ]]; then  # tried, not shipped: stages 8 and 9 at 224x224
  gpu_cycle 224 thin_224 "${INIT:-$RUNS/thin_128_night.safetensors}" 26 3e-4
  gpu_cycle 224 thin_224_cycle2 "$RUNS/thin_224.safetensors" 15 2e-4
fi
if [[ $WHICH == thin128 ]]; then  # tried, not shipped: see the model card
  train_stage thin thin_128_wild --input-size 128 --batch-size 64 --epochs 6 --warmup-epochs 1 --lr 5e-4 \
    --ema 0.998 --augment wild --init "$RUNS/thin_64_ft2.safetensors"
  train_stage thin thin_128_settle --input-size 128 --batch-size 64 --epochs 6 --warmup-epochs 1 --lr 3e-4 \
    --ema 0.998 --augment wild_light --init "$RUNS/thin_128_wild.safetensors"
fi
if [[ $WHICH == thin128_from_stage4 ]]; then  # stage 5 alone, from INIT or this folder's stage 4
  thin_stage5 "${INIT:-$RUNS/thin_64_wild_light.safetensors}"
fi
if [[ $WHICH == thin128_resample ]]; then  # stage 4 (the shipped 64 px weights) -> 128 px, resample-robust
  train_stage thin thin_128_resample --input-size 128 --batch-size 64 --epochs 12 --warmup-epochs 1 --lr 3e-4 \
    --ema 0.998 --augment wild_resample --init "${INIT:-$RUNS/thin_64_wild_light.safetensors}"
fi
if [[ $WHICH == thin128_restart ]]; then  # stage 6 alone, from INIT or this folder's stage 5
  thin_stage6 "${INIT:-$RUNS/thin_128_long.safetensors}"
fi
if [[ $WHICH == thin128_cycle3 ]]; then  # tried: stage 6's recipe again, from INIT or this folder's stage 6
  thin_stage6 "${INIT:-$RUNS/thin_128_restart.safetensors}" thin_128_cycle3
fi
if [[ $WHICH == thin128_night ]]; then  # stage 7 alone: stage 6's recipe with wild_night, from INIT or stage 6
  thin_stage6 "${INIT:-$RUNS/thin_128_restart.safetensors}" thin_128_night wild_night
fi
if [[ $WHICH == tiny_night ]]; then  # TinyAgeNet's stage 3 alone, from INIT or this folder's stage 2
  tiny_stage3 "${INIT:-$RUNS/tiny_64_ft.safetensors}"
fi
if [[ $WHICH == tiny128 ]]; then  # tried, not shipped: TinyAgeNet at 128x128 from INIT or this folder's stage 3
  train_stage tiny tiny_128 --input-size 128 --batch-size 64 --epochs 8 --warmup-epochs 1 --lr 3e-4 --ema 0.998 \
    --augment wild_night --init "${INIT:-$RUNS/tiny_64_night.safetensors}"
fi
if [[ $WHICH == tiny || $WHICH == all ]]; then
  train_stage tiny tiny_64 --epochs 20 --lr 1e-3
  fine_tune tiny tiny_64_ft tiny_64 12 5e-4
  tiny_stage3 "$RUNS/tiny_64_ft.safetensors"
  ship tiny tiny_64 tiny_64_ft tiny_64_night
fi
