#!/usr/bin/env bash
# From a finished training run to the committed model files:
#   models/emotion-mobilenetv2-fp32.onnx, models/emotion-mobilenetv2-int8.onnx, models/emotion-mobilenetv2.json,
#   calibration/int8-calibration-images.csv and calibration/int8-activation-ranges.json.
# Usage (from the repository root, after bash scripts/setup.sh):
#   [LOGIT_OFFSETS="label=value ..."] bash models/training/build-model.sh <run folder> [checkpoint file in it, default best.pt]
# LOGIT_OFFSETS goes into the card (export.py --logit-offset); evaluate-model.sh then measures the files.
set -euo pipefail
cd "$(dirname "$0")/../.."
run=${1:?usage: build-model.sh <training run folder> [checkpoint]}
checkpoint=${2:-best.pt}
source models/training/model-files.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

read -ra specs <<< "${LOGIT_OFFSETS:-}"
offsets=()
for spec in ${specs[@]+"${specs[@]}"}; do offsets+=(--logit-offset "$spec"); done
$py models/training/export.py --checkpoint "$run/$checkpoint" --onnx "$fp32" --card "$card" ${offsets[@]+"${offsets[@]}"}
# How FER-2013 frames a face, through the live detector: the live pipeline aligns faces to it.
node models/training/measure-framing.mjs "$data/train-images-idx3-ubyte.gz" "$card" 4000
# How bright and contrasted its faces are: a live face darker or flatter than that is brought to it.
node models/training/measure-levels.mjs "$data/train-images-idx3-ubyte.gz" "$card"
$py models/training/quantize.py prepare --fp32 "$fp32" --augmented "$work/augmented.onnx" --data "$data" \
  --list calibration/int8-calibration-images.csv
node models/training/calibrate-activations.mjs "$work/augmented.onnx" "$card" calibration/int8-calibration-images.csv \
  "$data/train-images-idx3-ubyte.gz" calibration/int8-activation-ranges.json
$py models/training/quantize.py finish --fp32 "$fp32" --ranges calibration/int8-activation-ranges.json --out "$int8" \
  --weights reduced
bash models/training/evaluate-model.sh
