"""Measure the shipped weights on the val split and write their model card.

Runs `dldl evaluate`'s three pipelines (chip, full, pasted) with flip-TTA on the val split, stores the summaries in
the weights' sidecar (``metrics``), writes the val predictions beside the weights (for the app's scatter plot; ages
and group labels only, no file names or images) and renders the card: weights/MODEL_CARD.md for the default
network, ``<name>.model_card.md`` beside any other.

    python scripts/build_model_card.py --data ../shared/datasets/utkface [--weights weights/thin_age_net.safetensors]
"""
from __future__ import annotations

import argparse
import csv
import itertools
import json
import platform
import textwrap
import time
from pathlib import Path

import torch

from dldl_core.data.datasets import UTKFACE_GENDERS, UTKFACE_RACES
from dldl_core.data.images import load_rgb
from dldl_core.evaluation.evaluate import PIPELINES, evaluate
from dldl_core.markdown import markdown_table
from dldl_core.models.registry import ARCH_NAMES
from dldl_core.models.weights import DEFAULT_WEIGHTS, read_sidecar, shipped_weights, update_sidecar
from dldl_core.pipeline.predictor import Predictor
from dldl_core.ui.model_card import card_text_path

GROUP_LABELS = {"gender": UTKFACE_GENDERS, "race": UTKFACE_RACES}
WHAT_GOES_IN = {  # the accuracy table's description of each pipeline
    "chip": "the aligned chips as they are",
    "full": "each chip detected, aligned and confirmed as an uploaded photo",
    "pasted": ("each chip pasted into a 640x480 random scene, 30-80 % of the width, rotated up to +-20 degrees, "
               "then full")}
PRECISION = {"tiny_age_net": "on a 2-core CPU: stage 1 in fp32 (a CPU without native bf16), stages 2 and 3 under bf16 "
                             "autocast (a CPU with AVX512-BF16)",
             "thin_age_net": "stages 1-7 and 12 on a 2-core CPU with AVX512-BF16, stages 8-11 on one NVIDIA H200 "
                             "GPU, every stage under bf16 autocast"}
WILD_PROXY_NOTE = ("UTKFace val faces (none with a copy in train) turned into photos under what real photos do to a "
                   "face, each through the full pipeline (detect, align, confirm, flip-TTA); "
                   "`benchmarks/wild_proxy.py`")
# What each network's runs showed, beyond the stage-by-stage gains read from its log.
TRIED = {
    "tiny_age_net": [
        ("Stage 1 alone (an earlier default) scored val MAE 5.521 (chip), 5.553 (full), 5.640 (pasted). Its run was "
         "interrupted after epoch 8 of a 32-epoch cosine schedule and resumed with a 20-epoch budget; rerunning the "
         "script from scratch follows the 20-epoch schedule throughout, so its figures may differ by a few tenths."),
        ("Its training loss with the paper's augmentation stayed as high as the val error (underfitting, not "
         "overfitting), which is why stage 2 lightens the augmentation and averages the weights rather than "
         "regularising more."),
        ("Fine-tuning stage 1 at 96x96 for 3 epochs (lr 3e-4, cosine) reached val MAE 5.647 (chip, TTA), so the "
         "64x64 network ships: it is also the fastest."),
        ("Stage 3 against stage 2 on all 2,357 val faces, paired, flip-TTA (`benchmarks/compare_weights.py --data "
         "DIR --weights A B`; differences with 95 % paired bootstrap intervals): chip 5.207 against 5.266 (-0.058 "
         "[-0.100, -0.015]), full 5.264 against 5.323 (-0.059 [-0.101, -0.017]), pasted 5.338 against 5.441 "
         "(-0.103 [-0.148, -0.057]); on the wild proxy's 200 faces, paired, low light 1.14 years better [0.60, "
         "1.69] and JPEG 0.40 [0.19, 0.61], glasses 0.31 worse [0.11, 0.50], the other 11 conditions tied; on the "
         "real group photo made dim two of the five faces found grossly wrong (63.2, 70.4) where stage 2 had four "
         "(57.0-79.8). Better on the val split and in dim photos, so it ships; grain still ages its faces more "
         "than ThinAgeNet's."),
        ("128x128 (an 8x8 CAM grid), tried and not shipped: from stage 3's weights, 8 epochs at lr 3e-4 with 1 "
         "warm-up epoch, batch 64, EMA 0.998 and the `wild_night` augmentation (83-96 train img/s on 2 cores under"
         " bf16 autocast, 186-214 s an epoch with the CPU nearly to itself) reached val MAE 5.589 at its last "
         "epoch (5.918, 5.755, 5.655, 5.589 over the last four, the training L1 6.53 against stage 3's 6.22 at "
         "64x64): 0.38 above stage 3's 5.207 by the same per-epoch validation. TinyAgeNet stays at 64x64, with a "
         "4x4 CAM grid, and fast; ThinAgeNet is the network for finer maps."),
        ("Distilling the default, tried and not shipped: every train chip relabelled with ThinAgeNet's flip-TTA "
         "expectation as its age and its predicted spread as its label sigma (the manifest's `sigma` column; on the "
         "train chips that network reads MAE 3.19 with a mean spread of 5.47 years), then 5 epochs from stage 3 at lr "
         "2e-4 with 1 warm-up epoch, batch 128 and EMA 0.998 (505-571 train img/s on 2 cores with nothing else "
         "running). The val chip MAE (flip-TTA, the training's own evaluation of all 2,357 faces) read 5.223 after the"
         " first epoch and rose to 5.324 with `wild_night`, as stage 3's did on the true ages, and stayed at "
         "5.224-5.239 with the light augmentation, against stage 3's 5.207: at 64x64 this network does not gain from "
         "the larger network's labels in a short fine-tune."),
        ("ThinAgeNet, trained the same way at 64x64 with two more stages there, three at 128x128 and two at 160x160 "
         "on a GPU, is the default (weights/MODEL_CARD.md): more accurate and with finer explanations (a 10x10 CAM "
         "grid) for several times the forward time (docs/performance.md); TinyAgeNet stays for the highest frame "
         "rate on a small CPU."),
    ],
    "thin_age_net": [
        ("From scratch, an exponential moving average of the weights (decay 0.998, about 500 steps) lagged the "
         "network it averaged: after 14 epochs the EMA scored val MAE 5.546, the raw network 5.205 (stage 1's val "
         "MAE in the log is the EMA's). From a trained start (stages 2 and 3) the EMA is the better network, so it "
         "is kept there."),
        ("TinyAgeNet (0.94 M parameters), trained in two stages the same way at 64x64, scored 5.266 (its card: "
         "tiny_age_net.model_card.md); at 64x64 ThinAgeNet cost about twice its forward time (fp32, batch 1: 10.9 "
         "against 5.6 ms), at 128x128 several times more (docs/performance.md)."),
        ("The training L1 kept falling in every stage while the val error flattened at the end of each cosine "
         "cycle: the gap between the two grew from stage to stage, so more cycles at 64x64 give less and less."),
        ("128x128 (a CAM grid of 8x8 instead of 4x4), tried and not shipped: from stage 3's weights, 6 epochs with "
         "the `wild` augmentation (the paper's recipe with roll +-25 and every real-photo operation at 15-40 %; lr "
         "5e-4, EMA; about 60 train img/s on 2 cores with bf16, 5 minutes an epoch when the CPU is free) reached "
         "val MAE 5.660, and a settling epoch with `wild_light` 5.571: the heavy augmentation and the new scale "
         "left the network underfitted within the CPU time there was. On the wild proxy it was better than the "
         "64x64 networks only in its spread (coverage) and under pitch and strong light. Its checkpoints can be "
         "resumed (`scripts/train_default_weights.sh thin128`); a GPU would make the 128 or 224 px network cheap."),
        ("A second 128x128 run of what is now stage 5 (the same recipe, but its budget cut from 18 to 14 epochs "
         "after epoch 3, which re-drew the cosine schedule) reached val MAE 4.896 with flip and was not shipped: on "
         "the wild proxy's 200 faces it read worse than stage 4 on the plain pasted photo (5.23 against 4.89). The "
         "whole val split later showed that gap to be noise (below); the run of the recipe shipped as stage 5 "
         "reached 4.888."),
        ("A third 128x128 run tested one explanation of that pasted gap, that a face resampled on its way from a photo"
         " to the network loses texture a 128 px input relies on: stage 4's weights fine-tuned for 12 epochs with "
         "the `wild_resample` augmentation (`wild_light` with rescale 0.85-1.15, shift 0.08, and a down-and-up "
         "resize to 30-80 % of the size on 35 % of the faces; otherwise as the second run; 34-36 train img/s, "
         "500-530 s an epoch with the CPU to itself; `scripts/train_default_weights.sh thin128_resample`). It "
         "reached val MAE 5.035 with flip (the harder augmentation cost 0.14 on the chips), and on the wild proxy "
         "the pasted photo read 5.40 (second run 5.23, stage 4 4.89), mean gross-error share 9.1 % against stage "
         "4's 8.2 %, mean MAE over the 14 conditions 6.04 against 5.80; not shipped. But on the whole val split "
         "through this card's pipelines it reads chip 5.035, full 5.053, pasted 5.045 (stage 4: 4.954, 5.027, "
         "5.104): no pasted gap at all. On the wild proxy's 200 faces one MAE has a standard error of about "
         "0.37 years (stage 4's val errors spread 5.2 years, over the root of 200): it cannot rank networks a "
         "few tenths apart; ranking candidates needs the whole split and paired intervals."),
        ("Stage 5 against stage 4 (the 64x64 default before it) on all 2,357 val faces, paired, flip-TTA "
         "(`benchmarks/compare_weights.py --data DIR --weights A B`; differences with 95 % paired bootstrap "
         "intervals): chip 4.888 against 4.954 (-0.066 [-0.198, +0.063]), full 4.907 against 5.027 (-0.121 "
         "[-0.253, +0.017]), pasted 4.930 against 5.104 (-0.174 [-0.319, -0.032]): no worse anywhere and "
         "better on the pasted photo by its interval, with a CAM grid of 8x8 instead of 4x4, so it shipped. On "
         "the wild proxy's 200 faces, paired, the two tied in MAE in 13 of the 14 conditions; in "
         "low light stage 5's MAE is 0.76 [0.10, 1.45] higher while its share of gross errors is 3.1 points "
         "lower, and on the plain pasted photo its share of gross errors is 3.0 points higher [0.5, 6.0] where"
         " on all 2,357 val faces it is 1.0 lower [0.1, 1.8]: the mean gross-error share over the conditions "
         "is 8.6 % against 7.9 %, and neither network reaches half of stage 3's 8.9 %."),
        ("Stage 6 against stage 5 on all 2,357 val faces, paired, flip-TTA (the same command): chip 4.833 against "
         "4.888 (-0.055 [-0.088, -0.024]), full 4.836 against 4.907 (-0.071 [-0.104, -0.036]), pasted 4.874 "
         "against 4.930 (-0.056 [-0.094, -0.020]): better on all three by their intervals, the gross-error share "
         "0.3-0.4 points lower, so it shipped."),
        ("Stage 7 against stage 6 on all 2,357 val faces, paired, flip-TTA (the same command): chip 4.816 against "
         "4.833 (-0.017 [-0.036, +0.001]), full 4.816 against 4.836 (-0.021 [-0.040, -0.001]), pasted 4.863 "
         "against 4.874 (-0.011 [-0.030, +0.007]); on the wild proxy's low light (the same 200 faces, paired) MAE "
         "6.06 against 6.60 (-0.54 [-1.11, +0.02]), its mean spread 10.2 against 13.4 years; under glasses "
         "worse, 7.68 against 7.55 (+0.14 [+0.01, +0.27]); in the other 12 conditions within 0.12 years and tied "
         "by the interval; the mean gross-error share over the 14 conditions 8.3 % against 8.6 %; on the real "
         "group photo made dim (below) no gross error where stage 6 read two of the five faces found as 64.0 and "
         "64.7 (stage 7: 28.4-47.1). Better through the whole pipeline and where dim photos made it worst, worse "
         "by a seventh of a year under glasses, so it ships. Sensor grain still ages a face: the Analyze page "
         "warns under a grainy face (`dldl_core/pipeline/grain.py`)."),
        ("Stage 4's training L1 is higher than stage 3's because its augmentation is harder (lighting, occluders, "
         "blur, JPEG on 10-20 % of the faces each), not because the network got worse: its val MAE stayed within "
         "0.04."),
        ("The 40 worst val errors, looked at one by one (`benchmarks/wild_proxy.py --worst 40` groups them by "
         "measured cause): about a sixth look mislabelled (an adult labelled 1 or 2, a young man labelled 58; two "
         "have a byte-identical copy under another age), blurred, grayscale and low-contrast photos are 2.6-3.7x "
         "over-represented, people over 80 7x (their age is underestimated, bias -6.9 years), and broad smiles or "
         "grimaces with glasses read older (a smiling 29-year-old with glasses at 55), heavy make-up younger."),
        ("Stage 9 against stage 7 (the 128 px default before it) on all 2,357 val faces, flip-TTA: chip 4.683 against "
         "4.816, paired over the faces of both cards' `val_predictions.csv` -0.133 [-0.216, -0.043] (95 % paired "
         "bootstrap, `dldl_core.evaluation.comparison.compare_errors`); the gross-error share 4.0 % against 4.2 % "
         "(-0.2 points [-0.8, +0.4]); full 4.688 against 4.816 and pasted 4.695 against 4.863 (each card's own run); "
         "the 90 % interval covers 91.9 % of the faces at a mean width of 19.8 years (stage 7: 93.8 % at 22.1). On "
         "the wild proxy (above: the same 200 faces, today's pipeline for both) its MAE is lower in all 14 "
         "conditions, by the interval under yaw (-0.48 [-0.86, -0.11]), low light (-1.04 [-1.60, -0.53]) and "
         "glasses (-1.05 [-1.63, -0.49]); its gross-error share is lower by the interval under roll 45, glasses and "
         "make-up and higher under a hand (13.1 % against 10.6 %, +2.5 points [-1.5, +6.0]); the mean gross-error "
         "share over the 14 conditions 7.4 % against 8.4 %. On the real group photo in low light it reads the six "
         "faces 21-31 where stage 7 read two at 45 and 47. Better on val and through the whole pipeline, so it "
         "ships."),
        ("224x224 (the paper's input, a CAM grid of 14x14), trained beside stages 8 and 9 on the same GPU with their "
         "recipes (26 epochs from stage 7 at lr 3e-4, then 15 at lr 2e-4): val chip MAE 4.832 after the first cycle "
         "and 4.771 after the second, against 4.735 and 4.683 at 160x160. Its first epoch read 9.67 on the 250 "
         "watched val faces (160x160: 5.24): the jump from 128 px cost it much of its budget. Not shipped: worse "
         "than 160x160 on val, with twice its pixels to compute on a CPU. On the real group photo (below) neither "
         "had a gross error."),
        ("The 250 val faces watched during stage 9 read 4.527 at its end, all 2,357 4.683: those faces were easier "
         "than the split, so every figure on this card is measured on the whole split."),
        ("The weight soup (stages 10 and 11) against stage 9, the default before it, on all 2,357 val faces, "
         "flip-TTA (`dldl evaluate --pipeline chip`): each of the six networks alone read 4.610-4.640 (mean 4.626; "
         "stage 10's at lr 1e-4, 1.5e-4 and 2e-4: 4.630, 4.640 and 4.610; stage 11's: 4.637, 4.610 and 4.630), the "
         "mean of stage 10's three 4.610 (no better than its best network), of stage 11's three 4.600, and of all "
         "six 4.597, which ships: against stage 9's 4.683 that is -0.086 [-0.126, -0.046] paired over the faces "
         "(95 % bootstrap, `benchmarks/compare_weights.py --pipelines chip`), with the same share of gross errors (0.0 "
         "points [-0.4, +0.4]). The 250 val faces watched read 4.41-4.45 at the end of each run, "
         "against 4.53 for stage 9. On the wild proxy (above: the same 200 faces, the same pipeline) its mean MAE "
         "over the 14 conditions is 5.31 against 5.38 and its mean gross-error share 6.8 % against 7.4 %; under a "
         "hand over the face 10.1 % against 13.1 %, under glasses 10.1 % against 11.1 %; roll 45 is the one "
         "condition where it is worse on both (MAE 5.24 against 5.16, gross 6.0 % against 4.5 %). A soup costs "
         "nothing at inference: it is one network of the same size."),
        ("Stage 12 against stage 11 (the soup, the default before it), on all 2,357 val faces, paired, flip-TTA "
         "(`benchmarks/compare_weights.py --pipelines chip`): chip 4.572 against 4.597, -0.025 [-0.049, +0.001] (its "
         "interval just holds 0: no worse, perhaps a little better), the same share of gross errors (-0.1 points "
         "[-0.4, +0.2]). The 250 watched val faces read 4.395-4.410 over its five epochs. On the wild proxy (above, "
         "the same 200 faces; `wild_proxy.py --weights STAGE11 weights/thin_age_net.safetensors`, 365 s for three "
         "networks with the CPU to itself) under glasses: MAE 5.64 against 6.28 (-0.64 [-1.10, -0.22]) and gross "
         "errors 6.5 % against 10.1 % (-3.5 points [-6.5, -1.0]); the only other condition that moved by its interval "
         "is a turned head, MAE 5.21 against 5.07 (+0.13 [+0.03, +0.24]); under a hand over the face nothing changed "
         "(MAE 6.36 both, gross 11.1 % against 10.1 %, +1.0 points [0.0, +2.5]) though twice as many training faces "
         "had an occluder. Mean MAE over the 14 conditions 5.27 against 5.31, mean gross-error share 6.6 % against 6.8"
         " %. The proxy's glasses are drawn much as the training's are (dark or clear lenses at the template's eyes), "
         "so that gain overstates what real glasses gain; what the chips show is that learning them cost nothing. The "
         "mean of stages 11 and 12 (`dldl soup` of the two, the fine-tune pulled halfway back) read chip 4.579 and "
         "glasses 5.83 / 8.5 %: between the two, not shipped."),
        ("A hand in training, tried and not shipped: stage 12 fine-tuned 3 more epochs on the CPU (lr 1e-4 with 1 "
         "warm-up epoch, batch 128, EMA 0.998, seed 22, `--augment wild_hands`: `wild_eyewear` plus, on 15 % of the "
         "faces, a palm and four fingers in the skin colour around the face's own nose over the lower face or a cheek,"
         " and the flat pasted occluders back down to 15 %; 24.0 train img/s, 739-742 s an epoch, the CPU shared only "
         "with short checks; `scripts/train_default_weights.sh thin160_hands`). Chip 4.576 against 4.572, -0.004 "
         "[-0.019, +0.010] paired (no difference); on the wild proxy (the same 200 faces) under a hand MAE 6.32 "
         "against 6.36 and gross errors 10.6 % against 11.1 % (one face), mean gross-error share over the 14 "
         "conditions 6.7 % against 6.6 %. The proxy's hand (one shaded ellipse with finger creases) is drawn by other "
         "code than the training's, so this is the honest test, and nothing moved. Drawn on the chip itself, without "
         "the photo, detection and alignment, the proxy's hand gives stage 12 MAE 6.28 and 9.5 % gross errors on those"
         " faces (clean chips 4.89 and 6.0 %): the loss is the network's, not the alignment's. 14 of the 22 gross "
         "errors are faces of 40 or more read younger: the hand hides the cheeks or the lower face, which this network"
         " reads age from after 40 (the cheeks and the strip of the nose tip, docs/age_stages.md). On 600 faces "
         "(`wild_proxy.py --weights weights/thin_age_net.safetensors HANDS --limit 600 --conditions "
         "pasted,hand_occluder,pitch,glasses`, 221 s with the CPU to itself) under a hand MAE 5.90 against 5.95 "
         "(-0.05 [-0.10, -0.01]) and gross errors 8.3 % against 8.8 % (no difference); the pasted photo, the pitched"
         " head and glasses within 0.05 years: too little to ship."),
        ("Reading the face a little smaller, tried and not shipped: the 2,357 val chips shrunk about their centre "
         "(flip-TTA) read 4.543 at 95 % of their size with the border filled by reflection, against 4.572 as they are "
         "(97.5 %: 4.544, 92.5 %: 4.587, 90 %: 4.618; grown to 105 %: 4.615); at 95 % with the edge pixels repeated "
         "4.549, with a black border 4.738. Photos aligned to the template shrunk by the same 5 %, with whatever "
         "surrounds the face in the photo, read worse: full 4.622 against 4.582 (+0.040 [-0.002, +0.085] paired) and "
         "pasted 4.670 against 4.592 (+0.078 [+0.024, +0.138]; `benchmarks/compare_weights.py --pipelines full,pasted`"
         " with the template of a copy of the sidecar shrunk). So the chips' gain is not more of the face's "
         "surroundings but something of their edges that does not carry over to photos; the photo pipeline keeps the "
         "training chips' framing."),
        ("More read from the same network, or more networks, tried and not shipped (the 2,357 val chips, flip-TTA, "
         "each face's distributions kept by a throwaway probe with `Predictor.estimate_chips`; paired 95 % bootstrap "
         "intervals against stage 12's 4.572). The median of the predicted distribution in place of its expectation: "
         "4.532, -0.039 [-0.065, -0.013], the same 3.9 % of gross errors; it gains on the young, whose distributions "
         "lean right against age 0 (0-12: 1.84 against 1.97; 13-19: 4.42 against 4.63; 20-39: 3.62 against 3.71), "
         "and loses after 40 (40-59: 6.71 against 6.56). The product keeps the expectation: it is the paper's "
         "estimate, the one the training's L1 term fits and the one Grad-CAM and occlusion explain, and a gain "
         "of a twenty-fifth of a year does not pay for two numbers. More views per face: the mean distribution of the"
         " chip and the chip shrunk to 95 % (reflected border), each with its mirror, 4.546 (-0.026 [-0.049, "
         "-0.002]), five views (as is, 95 %, 105 %, shifted 3 % right, 3 % down) 4.547: twice to five times the "
         "network's work for a fortieth of a year, from a shrink that did not carry over to photos (above). Averaging"
         " stage 12's distributions with those of its siblings (stage 11, the hands fine-tune, the weight mean of "
         "stages 11 and 12) "
         "read 4.573-4.580 for pairs and triples: networks from one soup err on the same faces. The chips read at "
         "192x192 instead of 160x160: 4.794 (+0.222 [+0.114, +0.324])."),
        ("The wild proxy on 600 faces (the 200 above and the next 400 of the same seeded order; `wild_proxy.py "
         "--weights STAGE3 weights/thin_age_net.safetensors --limit 600 --threads 2`, 626 s, the CPU shared only with"
         " a short browser check), stage 12 against stage 3, the 64 px network the proxy was built on and the "
         "one its gross-error target halves, both through today's face pipeline: mean gross-error share over the 14 "
         "conditions 5.7 % against 9.5 % (half of stage 3's would be 4.7 %), mean MAE 5.12 against 6.13. Gross "
         "errors by condition: glasses 5.8 % against 19.9 %, strong light 5.4 against 13.8, low light 6.8 against "
         "12.9, the head pitched 8.0 against 13.1, blur 5.2 against 9.7, low resolution 6.4 against 10.9, a hand 8.8"
         " against 11.7, a turned head 4.5 against 7.7, each lower by its paired interval; the plain pasted photo 4.5"
         " against 4.8, and the other five conditions within their intervals. The first 200 faces are harder than "
         "the 600 (stage 12: 6.6 % against 5.7 %); one share over 200 faces is uncertain by about 1.7 points."),
        ("Where a nodded or turned head loses, on those 600 faces (a throwaway probe: the proxy's own warp applied to "
         "each chip with the proxy's angles, read by stage 12 as a chip, without photo, detection or alignment; 96 s)"
         ": clean chips MAE 4.72 and 4.5 % gross errors; nodded 25-35 degrees 6.14 / 10.3 % (black border) or 6.35 / "
         "10.0 % (edge repeated), where the whole pipeline reads 5.85 / 8.0 %; turned 5.30 / 7.0 % or 5.19 / 6.0 %, "
         "the pipeline 4.97 / 4.5 %. Detection and alignment recover part of the loss rather than cause it: what is "
         "left is the network's reading of a foreshortened face. The training's perspective warp is planar, the "
         "nod at half the turn's strength; a head-like warp (on a cylinder, nods as strong as turns) is the next "
         "thing to train with, given the epochs."),
        ("Heads turned and nodded in training, tried and not shipped: stage 12 fine-tuned 3 more epochs on the CPU "
         "(as the hands run, seed 23, `--augment wild_heads`: `wild_eyewear` plus, on 30 % of the faces, the chip "
         "wrapped on a cylinder 1-1.2 half widths in radius, turned or nodded up to 35 degrees and seen from 3-6 half "
         "widths; 23.3-24.4 train img/s, 730-764 s an epoch, the CPU shared only with short checks; "
         "`scripts/train_default_weights.sh thin160_heads`). Chip 4.578 against 4.572, +0.007 [-0.011, +0.025] "
         "paired (no difference). On the 600 proxy faces (`wild_proxy.py --limit 600 --conditions pasted,pitch,yaw`, "
         "170 s): nodded MAE 5.78 against 5.85 (-0.07 [-0.14, -0.01]) and gross errors 7.4 % against 8.0 % (no "
         "difference), turned 4.93 against 4.97 (-0.04 [-0.07, -0.00]) and 4.2 % against 4.5 %, the pasted photo "
         "unchanged. The proxy's nod is the same kind of warp (other code, other numbers), so even that gain is an "
         "upper bound: too little to ship alone; a candidate for a GPU recipe."),
    ],
}
# What the last line of "tried" says comes next for each network.
NEXT_STEPS = {
    "tiny_age_net": ("Every stage ran on a 2-core CPU (about 470 train img/s at 64x64 under bf16 autocast); longer "
                     "training or a larger input on a GPU are the next steps."),
    "thin_age_net": ("Stages 1-7 ran on a 2-core CPU (about 150 train img/s at 64x64, 30-36 at 128x128, under bf16 "
                     "autocast), stages 8-11 on a GPU, stage 12 on the CPU again (24 at 160x160); the wild_eyewear "
                     "recipe given a GPU's epochs, more networks in a soup, or 224x224 given the epochs to adapt, "
                     "are the next steps."),
}
# The stages of each shipped network, as scripts/train_default_weights.sh runs them.
FINE_TUNE = ("epochs from stage {k}'s weights, {lr} with 1 warm-up epoch, the light augmentation and an exponential "
             "moving average of the weights (decay 0.998), which is the network validated and kept")
TRAINING_STAGES = {
    "tiny_age_net": [
        "20 epochs, lr 1e-3, the paper's augmentation (flip, grayscale, rescale, rotation +-15, shift, colour jitter)",
        "12 " + FINE_TUNE.format(k=1, lr="lr 5e-4"),
        ("10 epochs from stage 2's weights, lr 2e-4 with 1 warm-up epoch, EMA 0.998 and the `wild_night` "
         "augmentation (the paper's rotation +-15, lighter jitter and grayscale; at 10-20 % rates each a perspective "
         "warp, directional light, colour casts, pasted occluders, blur, low resolution and JPEG; and on 15 % of the "
         "faces a dim, grainy exposure; dldl_core/data/augment.py), keeping the best epoch (the first, val 5.207; "
         "the val MAE then rose every epoch to 5.325 while the training L1 fell from 7.49 to 6.22); 50-96 train "
         "img/s on 2 cores under bf16 autocast, 185-357 s an epoch, the CPU shared throughout with a figure run")],
    "thin_age_net": [
        ("14 epochs at 64x64, lr 1e-3 with 1 warm-up epoch, the light augmentation (half the paper's rotation, "
         "shift, rescale, jitter and grayscale rate); the shipped run also kept an EMA of the weights, which lagged "
         "(val 5.546) and was not used: stage 2 started from the raw last-epoch network (val 5.205), which is what "
         "the script's stage 1 keeps (no EMA; an average does not change the trajectory it averages)"),
        "12 " + FINE_TUNE.format(k=1, lr="lr 5e-4"),
        "14 " + FINE_TUNE.format(k=2, lr="lr 3e-4"),
        ("10 epochs at 64x64 from stage 3's weights, lr 2e-4 with 1 warm-up epoch, batch 128, EMA 0.998 and the "
         "`wild_light` augmentation (the paper's rotation +-15, lighter jitter and grayscale, and at 10-20 % rates "
         "each: a perspective warp for turned heads, directional light and gamma, colour casts, pasted occluders, "
         "blur, low resolution and JPEG; dldl_core/data/augment.py); the last epoch's EMA is kept (`--keep last`): "
         "its val MAE on chips (4.954) is 0.03 above the best epoch's (4.928, nearly the stage-3 network), and it "
         "was chosen on the wild proxy, where it is better under light, blur, JPEG and low resolution"),
        ("14 epochs at 128x128 from stage 4's weights (the network is size-agnostic: progressive resizing), batch "
         "64, lr 3e-4 with 1 warm-up epoch, EMA 0.998 and the `wild_light` augmentation, keeping the best epoch "
         "(the last); 30-36 train img/s on 2 cores under bf16 autocast, 500-580 s an epoch with the CPU to itself"),
        ("6 epochs at 128x128 from stage 5's weights, a second cosine cycle at a third of its learning rate: lr "
         "1e-4 with 1 warm-up epoch, batch 64, EMA 0.998 and the `wild_light` augmentation, keeping the best "
         "epoch (the last); 30-32 train img/s on 2 cores under bf16 autocast, 551-588 s an epoch with the CPU to "
         "itself"),
        ("6 epochs at 128x128 from stage 6's weights, stage 6's cycle (lr 1e-4 with 1 warm-up epoch, batch 64, EMA "
         "0.998) with the `wild_night` augmentation (`wild_light` plus, on 15 % of the faces, a dim exposure: "
         "0.25-0.6 of the light, gamma 1.0-1.3, luminance and chroma grain, a slight blur, on half of them the "
         "exposure pulled back up as a phone does), keeping the best epoch (the first, val 4.816; the later five "
         "4.824-4.830 while the training L1 fell from 5.74 to 5.24); 34-35 train img/s on 2 cores under bf16 "
         "autocast, 503-524 s an epoch with the CPU to itself (the first two epochs shared it: 666 and 1207 s)"),
        ("33 epochs at 160x160 from stage 7's weights on one NVIDIA H200 GPU (the 16 cores of its machine decoding "
         "and batching, the augmentation on the GPU: 1,450-2,500 train img/s, 7-12 s an epoch), batch 128, lr 3e-4 "
         "with 1 warm-up epoch, EMA 0.998 and `wild_night`, keeping the last epoch; the number of epochs set by a "
         "time budget (`--time-budget 350`: the first epoch's 10.5 s fitted 33), the train chips re-encoded as WebP "
         "(quality 72) to fit the transfer to that machine, and 250 random val faces, unchanged, watched every "
         "epoch (`val250_mae` in the log); on all 2,357 val faces it read 4.735"),
        ("14 epochs at 160x160 from stage 8's weights on the same GPU, a second cosine cycle at lr 1e-4 (1 warm-up "
         "epoch, batch 128, EMA 0.998, `wild_night`, `--time-budget 185`), keeping the last epoch; on all 2,357 val "
         "faces it read 4.683 (the default before this one)"),
        ("three networks at 160x160 trained side by side from stage 9's weights on one H200 (seeds 1, 2 and 3 at lr "
         "1e-4, 1.5e-4 and 2e-4, otherwise stage 9's recipe, 4 loader processes each; `--time-budget 370` fitted 21, "
         "22 and 24 epochs at 1,500-4,000 train img/s), each keeping its last epoch, then the mean of their weights "
         "(`dldl soup`, a weight soup: BatchNorm statistics averaged too), which read val chip 4.610"),
        ("three more from stage 10's mean (sent to the GPU in float16), seeds 11-13 at the same learning rates "
         "(`--time-budget 300`: 22, 24 and 23 epochs), then the mean of all six networks of stages 10 and 11 "
         "(val chip 4.597, the default before this one)"),
        ("5 epochs at 160x160 from stage 11's mean on the project's 2-core CPU (AMD EPYC with AVX512-BF16, bf16 "
         "autocast, one loader process: 23.5-24.0 train img/s, 742-758 s an epoch with the CPU to itself), batch "
         "128, lr 1e-4 with 1 warm-up epoch, EMA 0.998 and the `wild_eyewear` augmentation (`wild_night` plus "
         "glasses on 15 % of the faces, dark lenses or clear ones in thick frames drawn at the template's eyes "
         "before the warp, and pasted occluders on 20 % instead of 10 %), `--time-budget 4200` (5 epochs), the "
         "same 250 val faces watched, keeping the last epoch: the shipped network")],
}


def table(rows: dict[str, dict], label: str, names: dict[int, str] | None = None) -> str:
    """A group table (per band, gender or race) of an evaluation summary; ``names`` label numeric group keys."""
    cells = []
    for key, row in rows.items():
        name = names.get(int(key), key) if names and key.isdigit() else key
        cells.append([name, row["n"], f"{row['mae']:.2f}", f"{row['bias']:+.2f}"] if row["n"] else [name, 0, "-", "-"])
    return markdown_table([label, "n", "MAE", "bias (years)"], cells, align="lrrr")


def accuracy_table(results: dict[str, dict]) -> str:
    """The pipelines' summaries as the card's accuracy table."""
    rows = []
    for pipeline in PIPELINES:
        r = results[pipeline]
        missed = "-" if pipeline == "chip" else f"{r['faces_missed']} ({100 * r['faces_missed'] / r['n']:.2f} %)"
        rows.append([pipeline, WHAT_GOES_IN[pipeline], r["n"], f"{r['mae']:.3f}", f"{r['cs5']:.3f}",
                     pct(r["gross_error_share"]), pct(r["coverage90"]), missed])
    return markdown_table(["pipeline", "what goes in", "n", "MAE", "CS@5", "gross (> 15 y)", "90 % coverage",
                           "faces missed"], rows, align="llrrrrrr")


def stage_gains(log: list[dict]) -> str:
    """What each stage after the first changed, read from the training log (stage k's lines carry ``"stage": k``;
    a stage of several networks trained side by side marks each one's lines ``"ingredient": i``); empty for a
    one-stage log."""
    stages: dict[int, list[dict]] = {}
    for record in log:
        stages.setdefault(record.get("stage", 1), []).append(record)
    order = sorted(stages)
    lines = []
    for before, after in itertools.pairwise(order):
        if any(r.get("ingredient") for r in stages[after]):
            lines.append(ingredient_gains(after, stages[after]))
            continue
        l1 = {k: stages[k][-1]["l1"] for k in (before, after)}
        if all("val_mae" in r for k in (before, after) for r in stages[k]):
            best = {k: min(r["val_mae"] for r in stages[k]) for k in (before, after)}
            val = f"the best val MAE from {best[before]:.3f} to {best[after]:.3f}"
        else:  # a stage watched only part of the val split (its lines say val250_mae)
            watched = [r.get("val250_mae") for r in stages[after]]
            val = (f"the MAE on the 250 val faces it watched from {watched[0]:.3f} after its first epoch to "
                   f"{watched[-1]:.3f} after its last")
        lines.append(f"- Stage {after} took the last epoch's training L1 from {l1[before]:.2f} to {l1[after]:.2f} "
                     f"years and {val} (`\"stage\": {after}` lines of the log).")
    return "\n".join(lines)


def ingredient_gains(stage: int, lines: list[dict]) -> str:
    """One sentence on a stage of networks trained side by side: each one's watched val MAE, first and last epoch."""
    runs: dict[int, list[dict]] = {}
    for record in lines:
        runs.setdefault(record["ingredient"], []).append(record)
    key = "val250_mae" if "val250_mae" in lines[0] else "val_mae"
    watched = "; ".join(f"{r[0][key]:.3f} to {r[-1][key]:.3f} in {len(r)} epochs" for r in runs.values())
    faces = "250 val faces it watched" if key == "val250_mae" else "val split"
    return (f"- Stage {stage} trained {len(runs)} networks side by side (`\"ingredient\": i` lines of the log); on the "
            f"{faces} each went from {watched}.")


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def without_duplicates(evaluation, data: Path) -> tuple[int, float]:
    """(how many val faces have a copy in train, chip MAE over the others)."""
    import numpy as np

    from dldl_core.data.datasets import val_files_with_train_copy
    from dldl_core.maths.metrics import mae

    copies = val_files_with_train_copy(data / "duplicates.csv")
    keep = np.array([s.file not in copies for s in evaluation.samples])
    return int((~keep).sum()), mae(evaluation.pred[keep], evaluation.true[keep])


def wild_section(path: Path) -> str:
    """The card's section on the wild proxy, from the JSON that ``benchmarks/wild_proxy.py --json`` wrote beside the
    weights (empty without one): the table, each weights file's mean gross-error share over the conditions, and the
    paired comparisons the JSON holds."""
    if not path.is_file():
        return ""
    from dldl_core.data.wild import CONDITIONS
    from dldl_core.evaluation.wild_report import condition_table, paired_sections

    result = json.loads(path.read_text())
    means = [f"`{name}` {proxy_means(by_condition)}" for name, by_condition in result["results"].items()]
    note = (f"{WILD_PROXY_NOTE} `--limit {result['n_faces']} --seed {result['seed']}`. The training's wild "
            f"augmentation imitates some of the same effects (light, occluders, blur, JPEG) with other code; the "
            f"proxy is the project's own yardstick, not a set of real photos. Mean over conditions: "
            + "; ".join(means) + ".")
    section = (f"## Real photos: the wild proxy\n\n{textwrap.fill(note, 116)}\n\n"
               f"{condition_table(result['results'], {k: c.description for k, c in CONDITIONS.items()})}\n\n")
    for sentence, paired_table in paired_sections(result):
        section += f"{textwrap.fill(sentence, 116)}\n\n{paired_table}\n\n"
    return section + current_pipeline_section(path.with_name(path.name.replace(".wild_proxy.", ".wild_proxy.current.")))


def proxy_means(by_condition: dict) -> str:
    """One network's wild-proxy summaries in a phrase: its mean gross-error share over the conditions and the faces
    it missed."""
    shares = [s["gross_error_share"] for s in by_condition.values() if s.get("gross_error_share") is not None]
    missed = sum(s["faces_missed"] for s in by_condition.values())
    total = sum(s["n"] for s in by_condition.values())
    return (f"{100 * sum(shares) / len(shares):.1f}% gross errors on average over the {len(shares)} conditions, "
            f"{missed} of {total} faces missed")


def current_pipeline_section(path: Path) -> str:
    """The wild proxy re-measured for the shipped weights alone through the face pipeline as it is now, from
    ``<stem>.wild_proxy.current.json`` (``benchmarks/wild_proxy.py --json`` with a ``note`` added that says what
    changed); empty without one. The comparison above keeps the pipeline it was measured with, since the earlier
    networks it compares are not shipped."""
    if not path.is_file():
        return ""
    from dldl_core.evaluation.wild_report import condition_table

    result = json.loads(path.read_text())
    (name, by_condition), = result["results"].items()
    note = (f"{result.get('note', '')} `{name}` through the face pipeline as it is now (the same command, `--limit "
            f"{result['n_faces']} --seed {result['seed']}`): {proxy_means(by_condition)}.").strip()
    table = condition_table(result["results"])  # the conditions are described under the table above
    return f"### The shipped network through today's face pipeline\n\n{textwrap.fill(note, 116)}\n\n{table}\n\n"


def group_photo_section(weights: Path) -> str:
    """The card's section on the real group photo (`benchmarks/real_group_photo.py` for these weights), or a line
    saying how to add it where the photo is not installed."""
    from dldl_core.data.sample_photos import GROUP_PHOTO_AGES, group_photo_path
    from dldl_core.evaluation.group_photo import group_photo_table, measure_group_photo

    path = group_photo_path()
    if path is None:
        return ("## A real group photo\n\nNot measured for this card: the photo is installed by `python "
                "scripts/fetch_group_photo.py` (part of `scripts/setup.sh --dev`).\n\n")
    rows = measure_group_photo(load_rgb(path), [str(weights)])
    lo, hi = GROUP_PHOTO_AGES
    note = (f"A promotional still of a TV cast, six adults who were {lo:g}-{hi:g} when it was taken, smiling, heads "
            "tilted, turned and bowed, under warm directional light (1280x886; fetched from the insightface 2.1 wheel "
            "at set-up, never committed). Each face is marked by hand; a gross error is an estimate more than 15 years "
            "outside the age range (`benchmarks/real_group_photo.py`, which also runs the other shipped network; the "
            "README discusses the results). One photo of six young adults is a check, not a measurement.")
    return (f"## A real group photo\n\n{textwrap.fill(note, 116)}\n\n{group_photo_table(rows, with_network=False)}"
            "\n\n")


def smiles_section(path: Path) -> str:
    """The card's section on smiling against neutral faces, from the JSON that ``benchmarks/smiles.py --out`` wrote
    beside the weights (empty without one)."""
    if not path.is_file():
        return ""
    from dldl_core.evaluation.expressions import NEUTRAL_LIFT, NEUTRAL_OPENING, SMILE_LIFT
    from dldl_core.evaluation.smile_report import smiles_table

    result = json.loads(path.read_text())
    lo, hi = result["ages"]
    limit = max(row[c]["n"] for row in result["groups"].values() for c in result["conditions"] if c in row)
    note = (f"UTKFace val faces aged {lo:g}-{hi:g} (none with a copy in train; {result['faces']} that MediaPipe's "
            f"468-point face mesh reads), sorted by the mouth's shape the mesh measures on the aligned chip "
            f"(`benchmarks/smiles.py`, `dldl_core/evaluation/expressions.py`; lengths in eye-corner distances): "
            f"smiles, the mouth's corners raised at least {SMILE_LIFT:g} above the middle of the lips; neutral "
            f"mouths, corners raised less than {NEUTRAL_LIFT:g} and lips within {NEUTRAL_OPENING:g}; the rest (slight "
            f"smiles, open mouths). Each group on its chips, and up to {limit} of its faces through the full pipeline "
            f"in the wild proxy's photos of the same seed ({result['seed']}): MAE / gross-error share (more than 15 "
            f"years off).")
    return (f"## Smiles\n\n{textwrap.fill(note, 116)}\n\n{smiles_table(result['groups'], result['conditions'])}"
            "\n\n")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# The card: Markdown with str.format fields, filled by card_fields().
CARD_TEMPLATE = Path(__file__).with_name("model_card_template.md").read_text()


def measure(weights: Path, data: Path, split: str) -> tuple[dict, dict, object]:
    """Every pipeline's summary on the split, the seconds each took, and the chip pipeline's evaluation."""
    results, seconds = {}, {}
    with Predictor(weights, device="cpu") as predictor:
        for pipeline in PIPELINES:
            t0 = time.perf_counter()
            ev = evaluate(predictor, data / "images", data / "manifest.csv", split, pipeline)
            seconds[pipeline] = time.perf_counter() - t0
            results[pipeline] = ev.summary()
            if pipeline == "chip":
                chip_eval = ev
            print(f"{pipeline}: MAE {results[pipeline]['mae']:.3f} missed {results[pipeline]['faces_missed']}")
    return results, seconds, chip_eval


def write_val_predictions(weights: Path, chip_eval) -> None:
    """One row per val face beside the weights (true age, estimate, gender, race): the model card page's plots."""
    with open(weights.with_suffix(".val_predictions.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["true", "pred", "gender", "race"])
        for s, p in zip(chip_eval.samples, chip_eval.pred):
            writer.writerow([int(s.age), round(float(p), 2), s.meta.get("gender", ""), s.meta.get("race", "")])


def record_in_sidecar(weights: Path, results: dict, seconds: dict, split: str) -> tuple[list[dict], str]:
    """Store the metrics, the evaluation's and the training's cost in the sidecar; returns the training log and the
    evaluation's hardware named."""
    metrics = dict(read_sidecar(weights).get("metrics") or {})
    metrics.update({f"{split}_{k}": v for k, v in results.items()})
    metrics.update({"val_mae_chip_tta": results["chip"]["mae"], "val_cs5_chip_tta": results["chip"]["cs5"],
                    "val_mae_full_tta": results["full"]["mae"], "val_mae_pasted_tta": results["pasted"]["mae"],
                    "val_faces_missed_full": results["full"]["faces_missed"]})
    log_path = weights.with_suffix(".train_log.jsonl")
    log = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.is_file() else []
    train_hours = epochs_wall_seconds(log) / 3600  # networks trained side by side counted once, as in the card
    threads = torch.get_num_threads()
    hardware = f"{cpu_name()}, {threads} thread{'s' if threads > 1 else ''}, no GPU"
    devices = sorted({r["device"] for r in log if "device" in r})  # stages trained elsewhere name their device
    update_sidecar(weights, metrics=metrics, evaluation={"command": "python scripts/build_model_card.py --data DIR",
                                                         "hardware": hardware, "seconds": seconds},
                   training={"wall_hours_train_epochs": round(train_hours, 2),
                             "hardware": " and ".join([hardware, *devices]), "epochs_logged": len(log)})
    return log, hardware


def kept_text(recipe: dict, log: list[dict]) -> str:
    """Which network of the last stage ships: an epoch of it, or the mean of a weight soup's networks."""
    soup = recipe.get("soup")
    if not soup:
        return f"The last stage kept its epoch {recipe.get('best_epoch')} of {recipe.get('epochs')}"
    stages = sorted({r["stage"] for r in log if r.get("ingredient")})
    span = ("" if not stages else f"stage {stages[0]}'s " if len(stages) == 1 else
            f"stages {stages[0]}-{stages[-1]}'s ")
    return (f"The shipped network is the mean of the weights of {span}{len(soup)} networks (a weight soup, "
            f"`dldl soup`), each at its last epoch; the sidecar's recipe lists them")


def epochs_wall_seconds(lines: list[dict]) -> float:
    """The wall time of a log's epochs: each stage's epochs in a row, the networks of a stage trained side by side
    (``"ingredient"`` lines) at once, so such a stage lasts as long as its longest network."""
    total = 0.0
    for stage in sorted({r.get("stage", 1) for r in lines}):
        runs: dict[int, float] = {}
        for r in lines:
            if r.get("stage", 1) == stage:
                runs[r.get("ingredient", 0)] = runs.get(r.get("ingredient", 0), 0.0) + r.get("epoch_s", 0)
        total += max(runs.values())
    return total


def stage_span(stages: list[int]) -> str:
    """Sorted stage numbers in words, runs of consecutive ones as ranges: [1, ..., 7, 12] -> "stages 1-7 and 12"."""
    runs: list[list[int]] = []
    for stage in stages:
        if runs and stage == runs[-1][-1] + 1:
            runs[-1].append(stage)
        else:
            runs.append([stage])
    parts = [f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs]
    words = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return ("stage " if len(stages) == 1 else "stages ") + words


def training_time_text(log: list[dict], hardware: str) -> str:
    """The epochs' wall time on each machine the log names (lines without a ``device`` ran on ``hardware``)."""
    parts = []
    for device in sorted({r.get("device") for r in log}, key=lambda d: d is not None):
        lines = [r for r in log if r.get("device") == device]
        span = stage_span(sorted({r.get("stage", 1) for r in lines}))
        seconds = epochs_wall_seconds(lines)
        time = f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"
        parts.append(f"{time} on {device or hardware} ({span}" + (", with other work on the same cores)"
                                                                  if device is None else ")"))
    return " and ".join(parts)


def tried_text(arch: str, log: list[dict], chip_mae: float) -> str:
    """What was tried and not shipped, the gains of each stage, and the verdict on the accuracy target."""
    target = ("met" if chip_mae <= 5.0 else "not met") + (
        "; the stretch target of 4.6 is met" if chip_mae <= 4.6 else "; the stretch target of 4.6 is not")
    tried = [*TRIED.get(arch, []), *filter(None, stage_gains(log).splitlines()),
             f"The target of MAE <= 5.0 on val is {target}. {NEXT_STEPS.get(arch, '')}".strip()]
    return "\n".join(textwrap.fill(line.removeprefix("- "), width=116, initial_indent="- ", break_on_hyphens=False,
                                   subsequent_indent="  ") for line in tried)


def stage_list_text(arch: str) -> tuple[int, str]:
    """The number of training stages and their numbered list."""
    stages = TRAINING_STAGES.get(arch, ["see the training log"])
    return len(stages), "\n".join(textwrap.fill(f"{i}. {text};" if i < len(stages) else f"{i}. {text}.",
                                                width=116, initial_indent="  ", break_on_hyphens=False,
                                                subsequent_indent=" " * (4 + len(str(i))))
                                  for i, text in enumerate(stages, 1))


def also_shipped(weights: Path) -> str:
    others = [p for p in shipped_weights(weights.parent) if p.resolve() != weights.resolve()]
    return ("\n\nAlso shipped in this folder: " + ", ".join(f"`{o.name}` (its card: `{card_text_path(o).name}`)"
                                                            for o in others) + ".") if others else ""


def card_fields(weights: Path, data: Path, results: dict, chip_eval, log: list[dict], hardware: str) -> dict:
    """Every value the card's template names."""
    sidecar = read_sidecar(weights)
    recipe, model, chip = sidecar.get("recipe", {}), sidecar["model"], results["chip"]
    arch = model["arch"]
    dup_n, dup_mae = without_duplicates(chip_eval, data)
    n_stages, stages_text = stage_list_text(arch)
    return {"weights_name": weights.name, "arch_name": ARCH_NAMES.get(arch, arch), "arch_short": arch.split("_")[0],
            "num_parameters": sidecar["num_parameters"], "size": sidecar["preprocess"]["input_size"],
            "num_bins": model["num_bins"], "min_age": model["min_age"], "max_age": model["max_age"],
            "sha256": sidecar["sha256"], "also": also_shipped(weights), "sigma": recipe.get("sigma", 2.0),
            "lam": recipe.get("lam", 1.0), "batch_size": recipe.get("batch_size"),
            "precision": PRECISION.get(arch, ""), "n_stages": n_stages, "stage_list_text": stages_text,
            "log_name": weights.with_suffix(".train_log.jsonl").name,
            "kept": textwrap.fill(f"{kept_text(recipe, log)}. Training wall time of the epochs: "
                                  f"{training_time_text(log, hardware)}.", width=116, initial_indent="  ",
                                  subsequent_indent="  ", break_on_hyphens=False),
            "hardware": hardware,
            "accuracy": accuracy_table(results), "dup_n": dup_n, "dup_mae": dup_mae,
            "by_band": table(chip["per_band"], "age band"),
            "by_gender": table(chip.get("per_gender", {}), "gender", UTKFACE_GENDERS),
            "by_race": table(chip.get("per_race", {}), "race", UTKFACE_RACES),
            "wild_section": wild_section(weights.with_suffix(".wild_proxy.json")),
            "group_photo_section": group_photo_section(weights),
            "smiles_section": smiles_section(weights.with_suffix(".smiles.json")),
            "tried": tried_text(arch, log, chip["mae"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="UTKFace folder with images/ and manifest.csv")
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--split", default="val")
    args = parser.parse_args()
    weights, data = Path(args.weights), Path(args.data)
    results, seconds, chip_eval = measure(weights, data, args.split)
    write_val_predictions(weights, chip_eval)
    log, hardware = record_in_sidecar(weights, results, seconds, args.split)
    card = CARD_TEMPLATE.format_map(card_fields(weights, data, results, chip_eval, log, hardware))
    card_text_path(weights).write_text(card)
    print(f"wrote {card_text_path(weights)} and the metrics in {weights.with_suffix('.json').name}")

if __name__ == "__main__":
    main()
