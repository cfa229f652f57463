"""FER-2013 IDX loading shared by training, export and calibration scripts."""
import gzip
import struct

import numpy as np

LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 0x00000803:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, cols)
    if magic == 0x00000801:
        return np.frombuffer(data, dtype=np.uint8, offset=8).reshape(count)
    raise ValueError(f"{path}: unknown IDX magic {magic:#010x}")


def load_split(data_dir, split):
    images = read_idx(f"{data_dir}/{split}-images-idx3-ubyte.gz")
    labels = read_idx(f"{data_dir}/{split}-labels-idx1-ubyte.gz")
    if len(images) != len(labels):
        raise ValueError(f"{split}: {len(images)} images but {len(labels)} labels")
    return images, labels


def non_blank_indices(images):
    """Indices of images that are not entirely black (FER-2013 has 12 such placeholders)."""
    return np.nonzero(images.reshape(len(images), -1).max(axis=1) > 0)[0]
