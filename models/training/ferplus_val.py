"""FER-2013 validation relabelled by FER+'s crowd: each usable record (see fer_data.load_ferplus) whose
votes put one of our seven emotions strictly ahead of the other six (contempt, unknown and not-a-face
votes left out, as in training), labelled with that emotion, written as gzipped IDX images and labels
for `emobot eval-model`. FER-2013's own labels often differ from FER+'s (the script prints how often),
so a model that learns from FER+ votes is measured against both."""
import argparse

import numpy as np

from fer_data import load_ferplus, load_split, write_idx


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True, help="FER-2013 IDX folder")
    p.add_argument("--ferplus", required=True, help="FER+ votes folder")
    p.add_argument("--out", required=True, help="prefix: writes <out>-images-idx3-ubyte.gz and <out>-labels-idx1-ubyte.gz")
    args = p.parse_args()
    images, fer_labels = load_split(args.data, "val")
    targets, usable = load_ferplus(args.ferplus, "val")
    if len(targets) != len(images):
        raise ValueError(f"{len(targets)} FER+ rows for {len(images)} validation images")
    top_two = np.sort(targets, axis=1)[:, -2:]
    keep = np.nonzero(usable & (top_two[:, 1] > top_two[:, 0]))[0]
    labels = targets[keep].argmax(axis=1)
    write_idx(f"{args.out}-images-idx3-ubyte.gz", images[keep])
    write_idx(f"{args.out}-labels-idx1-ubyte.gz", labels)
    print(f"FER+ validation labels: {len(keep)} of {len(images)} records, "
          f"{100 * np.mean(labels == fer_labels[keep]):.1f}% of them as FER-2013 labels them")


if __name__ == "__main__":
    main()
