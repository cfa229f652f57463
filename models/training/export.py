"""Export a trained checkpoint to ONNX (FP32) and start its model card.

The exported graph takes N x 1 x S x S float input named "input" (N is dynamic) and returns
N x 7 logits named "logits"; BatchNorm is folded into the convolutions by the exporter.
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import build_from_meta, describe  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--onnx", required=True)
    p.add_argument("--card", required=True, help="model card JSON to write (the runtime's contract)")
    p.add_argument("--logit-offset", action="append", default=[], metavar="LABEL=VALUE",
                   help="added to that label's logit before the softmax (repeatable): a correction of the "
                        "class prior the training targets carry (models/training/README.md, stage 4)")
    args = p.parse_args()
    args_cli = args

    ckpt = torch.load(args.checkpoint, map_location="cpu")
    meta = ckpt["meta"]
    net = build_from_meta(meta)
    net.load_state_dict(ckpt["model"])
    net.eval()
    size = meta["size"]
    dummy = torch.zeros(1, 1, size, size)
    # A fine-tuning run starts from the shipped FP32 model: the card being replaced holds how that
    # model was made, so the chain back to random initialisation stays in the new card.
    previous_card = None
    if os.path.exists(args.card):
        with open(args.card) as f:
            previous_card = json.load(f)

    def recipe(run_meta):
        """The run's arguments without machine-local paths, preceded by the runs it continued."""
        args = {k: v for k, v in run_meta["args"].items()
                if k not in ("out", "data", "time_steps", "threads", "init", "init_onnx", "ferplus")}
        if run_meta["args"].get("ferplus"):
            args["ferplus"] = True
        previous = run_meta.get("init_from")
        if previous and "meta" in previous:
            args["continued_from"] = {"epochs_done": previous["epochs_done"], **recipe(previous["meta"])}
        elif previous and "onnx" in previous:
            history = previous.get("training")
            if history is None and previous_card and previous_card.get("files", {}).get("fp32", {}).get("sha256") == previous["sha256"]:
                history = previous_card["training"]
            if history is None:
                sys.exit(f"{args_cli.card} does not describe {previous['onnx']} (sha256 {previous['sha256'][:12]}...), the model "
                         "this run started from, so how that model was made would be lost: restore the card of that model "
                         "(git checkout) and run again")
            args["fine_tuned_from"] = {"onnx": previous["onnx"], "sha256": previous["sha256"], "training": history}
        return args

    # Both first: they refuse bad arguments or a lost history before any file is written.
    offsets = logit_offsets(args.logit_offset, meta["labels"])
    training_args = recipe(meta)
    name, architecture = describe(meta)
    torch.onnx.export(
        net, dummy, args.onnx, input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13, do_constant_folding=True,
    )
    card = {
        "name": name,
        "architecture": architecture,
        "input": {
            "name": "input", "layout": "NCHW", "channels": 1, "color": "gray", "width": size, "height": size,
            "resize": "bilinear",
            # x = (pixel / 255 - mean) / std
            "normalization": {"scale": 1 / 255, "mean": round(meta["mean"], 6), "std": round(meta["std"], 6)},
            # FER-2013 crops show the whole face with a little forehead and chin around a detector box.
            # measure-framing.mjs adds "align": how the training images frame a face, for eye-aligned crops.
            "crop": {"margin": 0.15, "equalize": False},
        },
        "output": {"name": "logits", "activation": "softmax", **({"logit_offsets": offsets} if offsets else {})},
        "labels": meta["labels"],
        "test_time_flip": True,
        "training": {"selected_epoch": ckpt["record"]["epoch"], "val_acc": ckpt["record"]["val_acc"],
                     "val_acc_flip": ckpt["record"]["val_acc_tta"], "train_images": meta["train_count"],
                     "args": training_args,
                     **({"averaged": meta["averaged"]} if "averaged" in meta else {})},
    }
    with open(args.card, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    print(json.dumps({"onnx": args.onnx, "card": args.card}))


def logit_offsets(specs, labels):
    """One offset per label from LABEL=VALUE strings, or None when none is given."""
    if not specs:
        return None
    offsets, given = [0.0] * len(labels), set()
    for spec in specs:
        label, _, value = spec.partition("=")
        if label not in labels or label in given:
            sys.exit(f"--logit-offset {spec}: one offset per label, the labels are {', '.join(labels)}")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            sys.exit(f"--logit-offset {spec}: {value!r} is not a finite number")
        offsets[labels.index(label)] = number
        given.add(label)
    return offsets


if __name__ == "__main__":
    main()
