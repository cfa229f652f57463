"""Train the EmoBot emotion classifier on FER-2013 (CPU or CUDA), resumable from checkpoints.

Run from the repository root; see models/training/README.md for the exact command.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fer_data import LABELS, load_split, non_blank_indices  # noqa: E402
from model import build_model  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default="../shared/data/fer2013")
    p.add_argument("--out", required=True, help="run folder for checkpoints and the log (outside git)")
    p.add_argument("--size", type=int, default=64, help="input side in pixels (48 px crops are upsampled)")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--final-stride", type=int, default=2, choices=[1, 2])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--warmup-epochs", type=float, default=2.0)
    p.add_argument("--init", help="start from this checkpoint's weights (a finished run's last.pt) with a fresh "
                                  "optimizer and schedule: a second cosine cycle (warm restart)")
    p.add_argument("--seed", type=int, default=2013)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--time-steps", type=int, default=0, help="only time this many training steps, then exit")
    return p.parse_args()


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def normalise(x, mean, std):
    return (x - mean) / std


def augment(batch_u8, size, gen):
    """Batch augmentation in one resampling pass: flip, rotation, scale, shift, then photometric jitter
    and random erasing. Working on whole batches keeps a 2-core CPU busy with the network, not Python."""
    n = batch_u8.shape[0]
    x = batch_u8.float().unsqueeze(1) / 255.0
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(12)
    scale = 1.0 + (torch.rand(n, generator=gen) * 2 - 1) * 0.12
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * 0.16  # fraction of half-width: +-8% of the side
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([
        torch.stack([cos * flip, -sin, shift[:, 0]], dim=1),
        torch.stack([sin * flip, cos, shift[:, 1]], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, (n, 1, size, size), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    contrast = 1.0 + (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.3
    brightness = (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.15
    mean = x.mean(dim=(2, 3), keepdim=True)
    x = ((x - mean) * contrast + mean + brightness).clamp(0, 1)
    erase = torch.rand(n, generator=gen) < 0.5
    for i in torch.nonzero(erase).flatten().tolist():
        area = float(torch.empty(1).uniform_(0.02, 0.2, generator=gen)) * size * size
        aspect = math.exp(float(torch.empty(1).uniform_(math.log(0.3), math.log(3.3), generator=gen)))
        h = min(size, int(round(math.sqrt(area * aspect))))
        w = min(size, int(round(math.sqrt(area / aspect))))
        top = int(torch.randint(0, size - h + 1, (1,), generator=gen))
        left = int(torch.randint(0, size - w + 1, (1,), generator=gen))
        x[i, :, top:top + h, left:left + w] = torch.rand(1, generator=gen)
    return x


def resize_only(batch_u8, size):
    x = batch_u8.float().unsqueeze(1) / 255.0
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


@torch.no_grad()
def evaluate(net, images, labels, size, mean, std, batch=256):
    net.eval()
    plain, flipped = [], []
    for start in range(0, len(images), batch):
        x = normalise(resize_only(images[start:start + batch], size), mean, std)
        logits = net(x)
        plain.append(F.softmax(logits, dim=1))
        flipped.append(F.softmax(net(torch.flip(x, dims=[3])), dim=1))
    plain, flipped = torch.cat(plain), torch.cat(flipped)
    tta = (plain + flipped) / 2
    acc = (plain.argmax(1) == labels).float().mean().item()
    acc_tta = (tta.argmax(1) == labels).float().mean().item()
    return acc, acc_tta


def cosine_lr(step, total, warmup, peak):
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    os.makedirs(args.out, exist_ok=True)

    train_x, train_y = load_split(args.data, "train")
    val_x, val_y = load_split(args.data, "val")
    keep_train, keep_val = non_blank_indices(train_x), non_blank_indices(val_x)
    print(f"dropped all-black images: train {len(train_x) - len(keep_train)}, val {len(val_x) - len(keep_val)}")
    train_x, train_y = torch.from_numpy(train_x[keep_train].copy()), torch.from_numpy(train_y[keep_train].astype(np.int64))
    val_x, val_y = torch.from_numpy(val_x[keep_val].copy()), torch.from_numpy(val_y[keep_val].astype(np.int64))

    pixel_mean = float(train_x.float().mean() / 255.0)
    pixel_std = float(train_x.float().std() / 255.0)
    counts = torch.bincount(train_y, minlength=len(LABELS)).float()
    # sqrt inverse frequency: helps disgust (1.5% of train) without sacrificing the majority classes.
    class_weights = (counts.max() / counts).sqrt()
    class_weights = class_weights / class_weights.mean()

    net = build_model(len(LABELS), args.width, final_stride=args.final_stride)
    init_from = None
    if args.init:
        previous = torch.load(args.init)
        net.load_state_dict(previous["model"])
        # The card records the whole chain of runs, so the model can be rebuilt from the data alone.
        init_from = {"epochs_done": previous["epoch"] + 1, "meta": previous["meta"]}
        print(f"initialised from {args.init} (epoch {init_from['epochs_done']})")
    decay, no_decay = [], []
    for name, param in net.named_parameters():
        (no_decay if param.ndim <= 1 else decay).append(param)
    opt = torch.optim.SGD([
        {"params": decay, "weight_decay": args.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ], lr=args.lr, momentum=0.9, nesterov=True)
    criterion = nn.CrossEntropyLoss(weight=class_weights, label_smoothing=args.label_smoothing)

    steps_per_epoch = len(train_x) // args.batch
    total_steps = steps_per_epoch * args.epochs
    warmup_steps = int(args.warmup_epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(args.seed)

    start_epoch, best = 0, {"val_acc_tta": 0.0}
    history = []
    last_path, best_path = os.path.join(args.out, "last.pt"), os.path.join(args.out, "best.pt")
    if os.path.exists(last_path) and not args.time_steps:
        ckpt = torch.load(last_path)
        net.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        gen.set_state(ckpt["generator"])
        torch.set_rng_state(ckpt["torch_rng"])
        start_epoch, best, history = ckpt["epoch"] + 1, ckpt["best"], ckpt["history"]
        print(f"resumed from {last_path} at epoch {start_epoch}")

    meta = {
        "labels": LABELS, "size": args.size, "width": args.width, "final_stride": args.final_stride,
        "mean": pixel_mean, "std": pixel_std, "args": vars(args),
        "train_count": len(train_x), "val_count": len(val_x), "init_from": init_from,
    }
    for epoch in range(start_epoch, args.epochs):
        net.train()
        perm = torch.randperm(len(train_x), generator=gen)
        t0, seen, loss_sum, correct = time.time(), 0, 0.0, 0
        for step in range(steps_per_epoch):
            global_step = epoch * steps_per_epoch + step
            for group in opt.param_groups:
                group["lr"] = cosine_lr(global_step, total_steps, warmup_steps, args.lr)
            idx = perm[step * args.batch:(step + 1) * args.batch]
            x = normalise(augment(train_x[idx], args.size, gen), pixel_mean, pixel_std)
            y = train_y[idx]
            logits = net(x)
            loss = criterion(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(idx)
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == y).sum().item()
            if args.time_steps and step + 1 >= args.time_steps:
                ms = (time.time() - t0) * 1000 / args.time_steps
                print(json.dumps({"ms_per_step": round(ms, 1), "batch": args.batch,
                                  "est_epoch_min": round(ms * steps_per_epoch / 60000, 2)}))
                return
        val_acc, val_acc_tta = evaluate(net, val_x, val_y, args.size, pixel_mean, pixel_std)
        record = {
            "epoch": epoch + 1, "train_loss": round(loss_sum / seen, 4), "train_acc": round(correct / seen, 4),
            "val_acc": round(val_acc, 4), "val_acc_tta": round(val_acc_tta, 4),
            "lr": round(opt.param_groups[0]["lr"], 5), "epoch_s": round(time.time() - t0, 1),
        }
        history.append(record)
        print(json.dumps(record), flush=True)
        if val_acc_tta > best["val_acc_tta"]:
            best = dict(record)
            torch.save({"model": net.state_dict(), "meta": meta, "record": record}, best_path)
        torch.save({
            "model": net.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
            "torch_rng": torch.get_rng_state(), "epoch": epoch, "best": best, "history": history, "meta": meta,
        }, last_path + ".tmp")
        os.replace(last_path + ".tmp", last_path)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump({"best": best, "history": history, "meta": meta}, f, indent=2)
    print(json.dumps({"done": True, "best": best}))


if __name__ == "__main__":
    main()
