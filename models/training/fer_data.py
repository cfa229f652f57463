"""FER-2013 IDX loading shared by training, export and calibration scripts."""
import csv
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


def write_idx(path, array):
    """A uint8 array as a gzipped IDX file: images [N, rows, cols] or labels [N], as read_idx reads them."""
    if array.ndim == 3:
        head = struct.pack(">IIII", 0x00000803, *array.shape)
    elif array.ndim == 1:
        head = struct.pack(">II", 0x00000801, len(array))
    else:
        raise ValueError(f"IDX holds images [N, rows, cols] or labels [N], not shape {array.shape}")
    with open(path, "wb") as f:
        f.write(gzip.compress(head + array.astype(np.uint8).tobytes(), mtime=0))


def load_split(data_dir, split):
    images = read_idx(f"{data_dir}/{split}-images-idx3-ubyte.gz")
    labels = read_idx(f"{data_dir}/{split}-labels-idx1-ubyte.gz")
    if len(images) != len(labels):
        raise ValueError(f"{split}: {len(images)} images but {len(labels)} labels")
    return images, labels


def non_blank_indices(images):
    """Indices of images that are not entirely black (FER-2013 has 12 such placeholders)."""
    return np.nonzero(images.reshape(len(images), -1).max(axis=1) > 0)[0]


# FER+ vote columns in our label order (angry, disgust, fear, happy, sad, surprise, neutral).
FERPLUS_COLUMNS = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]


def load_ferplus(ferplus_dir, split, min_emotion_share=0.5):
    """FER+ crowd votes as soft targets over our 7 labels, row i for IDX record i.

    Returns (targets [N, 7] float32 summing to 1, usable [N] bool). A record is unusable when it
    has no FER+ match (FER+ dropped it) or when fewer than half of its votes went to one of our
    seven emotions (mostly contempt, unknown or not-a-face): those images teach nothing about our
    classes. Contempt, unknown and NF votes are otherwise left out and the rest renormalised, by
    the row's own sum (one row has 9 votes, not 10).
    """
    with gzip.open(f"{ferplus_dir}/{split}-ferplus-votes.csv.gz", "rt") as f:
        rows = list(csv.DictReader(f))
    with gzip.open(f"{ferplus_dir}/{split}-ferplus-mapping.csv.gz", "rt") as f:
        status = [row["match_status"] for row in csv.DictReader(f)]
    if len(rows) != len(status):
        raise ValueError(f"{split}: {len(rows)} FER+ vote rows but {len(status)} mapping rows")
    votes = np.array([[float(row[c]) for c in FERPLUS_COLUMNS] for row in rows], dtype=np.float32)
    totals = np.array([sum(float(v) for k, v in row.items() if k != "index") for row in rows], dtype=np.float32)
    emotion_votes = votes.sum(axis=1)
    usable = (np.array([s != "unmatched_nf_placeholder" for s in status])
              & (emotion_votes >= min_emotion_share * totals) & (emotion_votes > 0))
    targets = votes / np.maximum(emotion_votes, 1e-6)[:, None]
    return targets.astype(np.float32), usable
