"""Writes test/fixtures/fer-val-preprocessing.json: what training's own preprocessing (train.py)
makes of a few FER-2013 validation images, so a test can check that the runtime's TypeScript
preprocessing feeds the model the same numbers. Only statistics and sampled values are stored,
not the images."""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fer_data import load_split  # noqa: E402
from train import normalise, resize_only  # noqa: E402

INDICES = [0, 1, 2, 100, 1000]
SAMPLES = [(0, 0), (0, 63), (10, 20), (31, 32), (40, 7), (63, 0), (63, 63), (17, 45)]


def main():
    data, out, size, mean, std = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    images, _ = load_split(data, "val")
    x = normalise(resize_only(torch.from_numpy(images[INDICES].copy()), size), mean, std)[:, 0]
    records = [{
        "index": idx,
        "mean": float(x[i].mean()),
        "std": float(x[i].std(unbiased=False)),
        "samples": [[r, c, float(x[i, r, c])] for r, c in SAMPLES],
    } for i, idx in enumerate(INDICES)]
    with open(out, "w") as f:
        json.dump({"size": size, "mean": mean, "std": std, "images": records}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
