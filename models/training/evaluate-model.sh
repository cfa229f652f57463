#!/usr/bin/env bash
# Measures the committed model files and writes the figures into their card and models/README.md:
# FER-2013 validation, the real-face development set through the live path, FER+'s validation labels.
# build-model.sh ends with it; run alone after changing only the card's runtime part (its logit offsets).
# Usage (from the repository root, after bash scripts/setup.sh): bash models/training/evaluate-model.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source models/training/model-files.sh
dev_set=${DEV_SET:-../shared/data/muxspace-facial-expressions/manifest.csv}
ferplus=${FERPLUS:-../shared/data/ferplus}
# The card's evaluation is rewritten whole: without these sets their figures would silently go.
for needed in "$data/val-images-idx3-ubyte.gz" "$dev_set" "$ferplus"; do
  [ -e "$needed" ] || { echo "evaluate-model.sh: $needed is missing (DATA, DEV_SET, FERPLUS)" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Both models evaluated in the same run, one face at a time on one thread: a robot's situation.
for variant in fp32 int8; do
  node dist/cli/main.js eval-model --model "models/emotion-mobilenetv2-$variant.onnx" \
    --images "$data/val-images-idx3-ubyte.gz" --labels "$data/val-labels-idx1-ubyte.gz" \
    --batch 1 --threads 1 --json > "$work/eval-$variant.json"
  # The whole live path (BlazeFace, alignment, model) over the real-face development set.
  printf 'vision:\n  model: %s\n' "$PWD/models/emotion-mobilenetv2-$variant.onnx" > "$work/$variant.yaml"
  node dist/cli/main.js eval-faces --config "$work/$variant.yaml" --manifest "$dev_set" --pad 0.25 --json \
    > "$work/faces-$variant.json"
done
# FER-2013 validation as FER+'s crowd labels it: what a model trained on FER+ votes is meant to agree with.
$py models/training/ferplus_val.py --data "$data" --ferplus "$ferplus" --out "$work/ferplus-val"
for variant in fp32 int8; do
  node dist/cli/main.js eval-model --model "models/emotion-mobilenetv2-$variant.onnx" \
    --images "$work/ferplus-val-images-idx3-ubyte.gz" --labels "$work/ferplus-val-labels-idx1-ubyte.gz" \
    --json > "$work/ferplus-$variant.json"   # accuracy only: no need for one-face timing
done
$py models/training/finalize_card.py --card "$card" --fp32 "$fp32" --int8 "$int8" \
  --eval-fp32 "$work/eval-fp32.json" --eval-int8 "$work/eval-int8.json" --readme models/README.md \
  --faces-fp32 "$work/faces-fp32.json" --faces-int8 "$work/faces-int8.json" \
  --ferplus-fp32 "$work/ferplus-fp32.json" --ferplus-int8 "$work/ferplus-int8.json" \
  --cpu "$(cpu_description)" \
  --latency-setup "onnxruntime-node $(node -p "require('onnxruntime-node/package.json').version"), CPU execution provider, 1 intra-op thread, batch 1, flip-averaged (2 inferences per face), $(nproc)-core $(uname -m), preprocessing included"
