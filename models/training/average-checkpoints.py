"""Average the weights of several epochs of one training run (stochastic weight averaging).

Epochs late in a cosine cycle sit around one basin; their mean usually lies nearer its centre than
any one of them, which is flatter and transfers better to faces unlike the training set's. The
averaged weights need BatchNorm statistics of their own (a mean of each epoch's statistics does not
describe the mean network): they are measured again in training mode over augmented training
batches, the same augmentation the run used, so they describe what the run's own statistics did.

The result is a checkpoint like train.py's epoch-NN.pt, written into the run folder, for
build-model.sh; its meta records which epochs were averaged, so the model card says so.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fer_data import load_split, non_blank_indices  # noqa: E402
from model import build_from_meta  # noqa: E402
from train import augment, evaluate, normalise, seed_everything  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="training run folder holding epoch-NN.pt")
    p.add_argument("--epochs", type=int, nargs="+", required=True, help="epoch numbers to average")
    p.add_argument("--data", required=True, help="FER-2013 folder (IDX files), for BatchNorm and validation")
    p.add_argument("--bn-batches", type=int, default=200, help="augmented training batches for BatchNorm statistics")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if len(set(args.epochs)) < 2:
        sys.exit("--epochs: give at least two different epochs to average")

    snapshots = []
    for epoch in sorted(set(args.epochs)):
        path = os.path.join(args.run, f"epoch-{epoch:02d}.pt")
        if not os.path.exists(path):
            sys.exit(f"--epochs: {path} does not exist")
        snapshots.append(torch.load(path, map_location="cpu"))
    meta = snapshots[0]["meta"]
    if any(s["meta"]["args"] != meta["args"] for s in snapshots):
        sys.exit("--epochs: these checkpoints come from runs with different arguments; average epochs of one run")

    averaged = {}
    for key, value in snapshots[0]["model"].items():
        if value.is_floating_point():
            averaged[key] = torch.stack([s["model"][key] for s in snapshots]).mean(dim=0)
        else:
            averaged[key] = value  # BatchNorm's batch counter: measured again below
    net = build_from_meta(meta)
    net.load_state_dict(averaged)

    seed_everything(meta["args"]["seed"])
    train_x, _ = load_split(args.data, "train")
    train_x = torch.from_numpy(train_x[non_blank_indices(train_x)].copy())
    val_x, val_y = load_split(args.data, "val")
    keep_val = non_blank_indices(val_x)
    val_x, val_y = torch.from_numpy(val_x[keep_val].copy()), torch.from_numpy(val_y[keep_val].astype("int64"))

    batch, size = meta["args"]["batch"], meta["size"]
    if args.bn_batches * batch > len(train_x):
        sys.exit(f"--bn-batches: at most {len(train_x) // batch} batches of {batch} in the training set")
    norms = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # a cumulative mean over all batches, not an exponential one
    gen = torch.Generator().manual_seed(meta["args"]["seed"])
    order = torch.randperm(len(train_x), generator=gen)
    net.train()
    with torch.no_grad():
        for step in range(args.bn_batches):
            idx = order[step * batch:(step + 1) * batch]
            x = augment(train_x[idx], size, gen, meta["args"]["camera_aug"], meta["args"]["jitter"])
            net(normalise(x, meta["mean"], meta["std"]))
    val_acc, val_acc_tta = evaluate(net, val_x, val_y, size, meta["mean"], meta["std"])

    epochs = sorted(set(args.epochs))
    record = {"epoch": epochs[-1], "val_acc": round(val_acc, 4), "val_acc_tta": round(val_acc_tta, 4)}
    out = os.path.join(args.run, "average-" + "-".join(f"{e:02d}" for e in epochs) + ".pt")
    torch.save({
        "model": net.state_dict(), "record": record,
        "meta": {**meta, "averaged": {"epochs": epochs, "bn_batches": args.bn_batches}},
    }, out)
    print(json.dumps({"out": out, **record, "averaged_epochs": epochs}))


if __name__ == "__main__":
    main()
