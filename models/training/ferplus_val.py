"""FER-2013 validation relabelled by FER+'s crowd: each usable record (see fer_data.load_ferplus) with
one emotion ahead of all others in its votes, labelled with that emotion, written as gzipped IDX
images and labels for `emobot eval-model`. FER-2013's own labels agree with these for about 64% of
the records, so a model that learns from FER+ is measured against both."""
import argparse
import gzip
import struct

import numpy as np

from fer_data import load_ferplus, load_split


def write_idx(path, array):
    head = struct.pack(">II", 0x803, len(array)) + struct.pack(">II", *array.shape[1:]) if array.ndim == 3 \
        else struct.pack(">II", 0x801, len(array))
    with open(path, "wb") as f:
        f.write(gzip.compress(head + array.astype(np.uint8).tobytes(), mtime=0))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True, help="FER-2013 IDX folder")
    p.add_argument("--ferplus", required=True, help="FER+ votes folder")
    p.add_argument("--out", required=True, help="prefix: writes <out>-images-idx3-ubyte.gz and <out>-labels-idx1-ubyte.gz")
    args = p.parse_args()
    images, fer_labels = load_split(args.data, "val")
    targets, usable = load_ferplus(args.ferplus, "val")
    top_two = np.sort(targets, axis=1)[:, -2:]
    keep = np.nonzero(usable & (top_two[:, 1] > top_two[:, 0]))[0]
    labels = targets[keep].argmax(axis=1)
    write_idx(f"{args.out}-images-idx3-ubyte.gz", images[keep])
    write_idx(f"{args.out}-labels-idx1-ubyte.gz", labels)
    print(f"FER+ validation labels: {len(keep)} of {len(images)} records, "
          f"{100 * np.mean(labels == fer_labels[keep]):.1f}% of them as FER-2013 labels them")


if __name__ == "__main__":
    main()
