"""Train the EmoBot emotion classifier on FER-2013 (CPU or CUDA), resumable from checkpoints.

Run from the repository root; see models/training/README.md for the exact command.
"""
import argparse
import json
import math
import os
import random
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fer_data import LABELS, load_ferplus, load_split, non_blank_indices  # noqa: E402
from model import ARCHITECTURES, build_from_meta, build_model, load_folded_onnx  # noqa: E402
from torchvision.io import decode_jpeg, encode_jpeg  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default="../shared/data/fer2013")
    p.add_argument("--out", required=True, help="run folder for checkpoints and the log (outside git)")
    p.add_argument("--size", type=int, default=64, help="input side in pixels (48 px crops are upsampled)")
    p.add_argument("--arch", choices=ARCHITECTURES, default="mobilenetv2",
                   help="the network: MobileNetV2 (the robot's) or EfficientNet-B0 (a teacher)")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--final-stride", type=int, default=2, choices=[1, 2])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--warmup-epochs", type=float, default=2.0)
    p.add_argument("--schedule", choices=["cosine", "constant"], default="cosine",
                   help="after the warm-up: a cosine down to zero, or the peak held (snapshots to average, "
                        "average-checkpoints.py)")
    p.add_argument("--init", help="start from this checkpoint's weights (a finished run's last.pt) with a fresh "
                                  "optimizer and schedule: a second cosine cycle (warm restart)")
    p.add_argument("--init-onnx", help="(not with --init) ""start from a shipped FP32 ONNX model (BatchNorm folded), e.g. "
                                       "models/emotion-mobilenetv2-fp32.onnx, with a fresh optimizer and schedule")
    p.add_argument("--ferplus", help="folder with FER+ votes for the same records: train on soft labels")
    p.add_argument("--ferplus-weight", type=float, default=0.5,
                   help="target = w * FER+ vote distribution + (1 - w) * FER-2013 label")
    p.add_argument("--teacher", help="a teacher's probabilities for every training record (.npy, N x 7, from "
                                     "teacher-labels.mjs): distil it into the student")
    p.add_argument("--teacher-net", help="(not with --teacher) a trained network's checkpoint (a run's best.pt or "
                                         "epoch-NN.pt, e.g. --arch efficientnet_b0): run on every augmented batch, "
                                         "so its answers are for the very images the student sees")
    p.add_argument("--teacher-weight", type=float, default=0.3,
                   help="target = w * teacher's probabilities + (1 - w) * the target without a teacher")
    p.add_argument("--class-weighting", choices=["sample", "per-class"], default="sample",
                   help="sample: each sample weighted by its target's class weights (sqrt inverse frequency of "
                        "the FER-2013 labels); per-class: each class's term of the cross-entropy weighted by its "
                        "own weight (sqrt inverse share of the training targets), so a rare emotion that a crowd "
                        "gives only part of its votes still counts in full")
    p.add_argument("--mixup", type=float, default=0.0,
                   help="mixup's alpha: each batch blended with a shuffle of itself, images and targets alike, "
                        "by a weight drawn from Beta(alpha, alpha); 0 = off")
    p.add_argument("--camera-aug", type=float, default=0.0,
                   help="probability of each camera degradation (downscale, blur, JPEG, noise, gamma)")
    p.add_argument("--jitter", type=float, default=1.0, help="scale of the geometric jitter (1 = +-12 deg, "
                                                             "+-12%% scale, +-8%% shift)")
    p.add_argument("--seed", type=int, default=2013)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--time-steps", type=int, default=0, help="only time this many training steps, then exit")
    args = p.parse_args()
    if args.init and args.init_onnx:
        p.error("--init and --init-onnx both say where to start: give one")
    if args.teacher and args.teacher_net:
        p.error("--teacher and --teacher-net are both a teacher: give one")
    if args.init_onnx and args.arch != "mobilenetv2":
        p.error("--init-onnx reads a MobileNetV2 export; --arch efficientnet_b0 starts from --init or from scratch")
    return args


def file_sha256(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def normalise(x, mean, std):
    return (x - mean) / std


def augment(batch_u8, size, gen, camera_p=0.0, jitter=1.0):
    """Batch augmentation in one resampling pass: flip, rotation, scale, shift, then photometric jitter,
    the robot camera's degradations and random erasing. Working on whole batches keeps a 2-core CPU busy
    with the network, not Python."""
    n = batch_u8.shape[0]
    x = batch_u8.float().unsqueeze(1) / 255.0
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(12) * jitter
    scale = 1.0 + (torch.rand(n, generator=gen) * 2 - 1) * 0.12 * jitter
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * 0.16 * jitter  # fraction of half-width: +-8% of the side
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
    if camera_p > 0:
        x = camera_degrade(x, gen, camera_p)
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


def _chance(n, p, gen):
    return torch.nonzero(torch.rand(n, generator=gen) < p).flatten().tolist()


def _uniform(lo, hi, gen):
    return float(torch.empty(1).uniform_(lo, hi, generator=gen))


def camera_degrade(x, gen, p):
    """What a small robot camera does to a face that FER-2013's web photos rarely show: a face only
    16-40 px across upsampled by the crop, defocus blur, sensor noise, JPEG/MJPEG artefacts and a
    different tone curve (gamma). Downscale, noise and gamma apply with probability p, blur and
    JPEG with 0.6 p (they compound with the downscale), each independently."""
    n, _, size, _ = x.shape
    for i in _chance(n, p, gen):  # a distant face: fewer pixels, upsampled back to the input side
        side = int(_uniform(16, 40, gen))
        small = F.interpolate(x[i:i + 1], size=(side, side), mode="area")
        x[i:i + 1] = F.interpolate(small, size=(size, size), mode="bilinear", align_corners=False)
    for i in _chance(n, p * 0.6, gen):  # defocus
        sigma = _uniform(0.4, 1.4, gen)
        r = torch.arange(-3, 4, dtype=torch.float32)
        k = torch.exp(-r * r / (2 * sigma * sigma))
        k = k / k.sum()
        img = F.pad(x[i:i + 1], (3, 3, 3, 3), mode="replicate")
        img = F.conv2d(img, k.view(1, 1, 1, 7))
        x[i:i + 1] = F.conv2d(img, k.view(1, 1, 7, 1))
    gamma = torch.exp((torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.4)
    use_gamma = (torch.rand(n, 1, 1, 1, generator=gen) < p).float()
    x = x.clamp(1e-4, 1) ** (1 + use_gamma * (gamma - 1))
    sigma = torch.rand(n, 1, 1, 1, generator=gen) * 0.05 * (torch.rand(n, 1, 1, 1, generator=gen) < p).float()
    x = (x + torch.randn(x.shape, generator=gen) * sigma).clamp(0, 1)
    for i in _chance(n, p * 0.6, gen):
        quality = int(_uniform(15, 75, gen))
        encoded = encode_jpeg((x[i] * 255).round().to(torch.uint8), quality=quality)
        x[i] = decode_jpeg(encoded).float() / 255.0
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


def scheduled_lr(step, total, warmup, peak, schedule):
    if step < warmup:
        return peak * (step + 1) / warmup
    if schedule == "constant":
        return peak
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
    train_soft = np.eye(len(LABELS), dtype=np.float32)[train_y]
    if args.ferplus:
        votes, usable = load_ferplus(args.ferplus, "train")
        train_soft = args.ferplus_weight * votes + (1 - args.ferplus_weight) * train_soft
        kept = np.intersect1d(keep_train, np.nonzero(usable)[0])
        print(f"FER+ soft labels (weight {args.ferplus_weight}): left out {len(keep_train) - len(kept)} records "
              "without a usable FER+ vote (unmatched, or mostly contempt/unknown/not-a-face)")
    else:
        kept = keep_train
    teacher_sha256 = None
    if args.teacher:
        teacher_sha256 = file_sha256(args.teacher)
        teacher = np.load(args.teacher).astype(np.float32)
        if teacher.shape != train_soft.shape:
            raise SystemExit(f"{args.teacher}: shape {teacher.shape}, expected {train_soft.shape} (one row per training record)")
        teacher /= np.maximum(teacher.sum(axis=1, keepdims=True), 1e-6)
        agree = float((teacher[kept].argmax(1) == train_y[kept]).mean())
        train_soft = args.teacher_weight * teacher + (1 - args.teacher_weight) * train_soft
        print(f"teacher {os.path.basename(args.teacher)} (weight {args.teacher_weight}, sha256 "
              f"{teacher_sha256[:12]}): its top class is the FER-2013 label for {agree:.1%} of training records")
    # Mean and std stay those of all non-blank training images: the runtime's normalisation must not
    # change with the label source, or a warm start from the shipped model would see shifted inputs.
    pixel_mean = float(torch.from_numpy(train_x[keep_train]).float().mean() / 255.0)
    pixel_std = float(torch.from_numpy(train_x[keep_train]).float().std() / 255.0)
    train_soft = torch.from_numpy(train_soft[kept])
    train_x, train_y = torch.from_numpy(train_x[kept].copy()), torch.from_numpy(train_y[kept].astype(np.int64))
    val_x, val_y = torch.from_numpy(val_x[keep_val].copy()), torch.from_numpy(val_y[keep_val].astype(np.int64))

    # sqrt inverse frequency: helps disgust (1.5% of train) without sacrificing the majority classes.
    # Soft targets (FER+) spread a rare emotion's images over several classes, so per-class weighting
    # takes the frequencies from the targets themselves rather than from FER-2013's hard labels.
    counts = train_soft.sum(dim=0) if args.class_weighting == "per-class" else \
        torch.bincount(train_y, minlength=len(LABELS)).float()
    class_weights = (counts.max() / counts).sqrt()
    class_weights = class_weights / class_weights.mean()
    print(f"class weights ({args.class_weighting}): " + ", ".join(f"{l} {w:.2f}" for l, w in zip(LABELS, class_weights.tolist())))

    teacher_net = None
    if args.teacher_net:
        teacher_sha256 = file_sha256(args.teacher_net)
        taught = torch.load(args.teacher_net)
        tmeta = taught["meta"]
        if tmeta["size"] != args.size or abs(tmeta["mean"] - pixel_mean) > 1e-6 or abs(tmeta["std"] - pixel_std) > 1e-6:
            raise SystemExit(f"{args.teacher_net}: trained on other inputs (size {tmeta['size']}, mean {tmeta['mean']}, "
                             f"std {tmeta['std']}) than this run's ({args.size}, {pixel_mean}, {pixel_std})")
        teacher_net = build_from_meta(tmeta)
        teacher_net.load_state_dict(taught["model"])
        teacher_net.eval()
        acc, acc_tta = evaluate(teacher_net, val_x, val_y, args.size, pixel_mean, pixel_std)
        print(f"teacher {args.teacher_net} ({tmeta.get('arch', 'mobilenetv2')}, weight {args.teacher_weight}, sha256 "
              f"{teacher_sha256[:12]}): val_acc {acc:.4f}, flip-averaged {acc_tta:.4f}")

    net = build_model(len(LABELS), args.width, final_stride=args.final_stride, arch=args.arch)
    init_from = None
    if args.init:
        previous = torch.load(args.init)
        net.load_state_dict(previous["model"])
        # The card records the whole chain of runs, so the model can be rebuilt from the data alone.
        init_from = {"epochs_done": previous["epoch"] + 1, "meta": previous["meta"]}
        print(f"initialised from {args.init} (epoch {init_from['epochs_done']})")
    elif args.init_onnx:
        init_from = {"onnx": os.path.basename(args.init_onnx), "sha256": file_sha256(args.init_onnx)}
        # The card beside the shipped model says how that model was made: kept, so that the chain back
        # to random initialisation survives in the new card.
        card_path = re.sub(r"-(int8|fp32|fp16)\.onnx$", ".json", args.init_onnx)
        if os.path.exists(card_path):
            with open(card_path) as f:
                card = json.load(f)
            if card.get("files", {}).get("fp32", {}).get("sha256") == init_from["sha256"]:
                init_from["training"] = card["training"]
        if not os.path.exists(os.path.join(args.out, "last.pt")):  # resuming loads the weights below
            sample = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(args.seed))[:512]
            load_folded_onnx(net, args.init_onnx, normalise(resize_only(train_x[sample], args.size), pixel_mean, pixel_std))
            acc, acc_tta = evaluate(net, val_x, val_y, args.size, pixel_mean, pixel_std)
            print(f"initialised from {args.init_onnx}: val_acc {acc:.4f}, flip-averaged {acc_tta:.4f}")
    decay, no_decay = [], []
    for name, param in net.named_parameters():
        (no_decay if param.ndim <= 1 else decay).append(param)
    opt = torch.optim.SGD([
        {"params": decay, "weight_decay": args.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ], lr=args.lr, momentum=0.9, nesterov=True)

    def criterion(logits, soft):
        """Cross-entropy against soft targets with label smoothing. "sample": each sample weighted by
        its targets' class weights (for a one-hot target, its class's weight); unlike PyTorch's weighted
        cross-entropy, the smoothing term is weighted by the sample's weight too, not per class.
        "per-class": each class's term weighted by that class's weight, normalised by the batch's total
        target weight (PyTorch's weighted cross-entropy, for soft targets)."""
        smoothed = soft * (1 - args.label_smoothing) + args.label_smoothing / len(LABELS)
        log_p = F.log_softmax(logits, dim=1)
        if args.class_weighting == "per-class":
            return -(smoothed * class_weights * log_p).sum() / (smoothed @ class_weights).sum()
        per_sample = -(smoothed * log_p).sum(dim=1)
        sample_weight = soft @ class_weights
        return (per_sample * sample_weight).sum() / sample_weight.sum()

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
        "labels": LABELS, "size": args.size, "arch": args.arch, "width": args.width, "final_stride": args.final_stride,
        "mean": pixel_mean, "std": pixel_std, "args": vars(args),
        "train_count": len(train_x), "val_count": len(val_x), "init_from": init_from,
        "teacher_sha256": teacher_sha256,
    }
    for epoch in range(start_epoch, args.epochs):
        net.train()
        perm = torch.randperm(len(train_x), generator=gen)
        t0, seen, loss_sum, correct = time.time(), 0, 0.0, 0
        for step in range(steps_per_epoch):
            global_step = epoch * steps_per_epoch + step
            for group in opt.param_groups:
                group["lr"] = scheduled_lr(global_step, total_steps, warmup_steps, args.lr, args.schedule)
            idx = perm[step * args.batch:(step + 1) * args.batch]
            x = normalise(augment(train_x[idx], args.size, gen, args.camera_aug, args.jitter), pixel_mean, pixel_std)
            y = train_y[idx]
            target = train_soft[idx]
            if teacher_net is not None:
                with torch.no_grad():
                    target = args.teacher_weight * F.softmax(teacher_net(x), dim=1) + (1 - args.teacher_weight) * target
            if args.mixup > 0:
                # Faces between two expressions, with targets between theirs: a smoother boundary
                # between classes, which is meant to carry better to faces unlike FER-2013's.
                lam = float(torch.distributions.Beta(args.mixup, args.mixup).sample())
                partner = torch.randperm(len(idx), generator=gen)
                x = lam * x + (1 - lam) * x[partner]
                target = lam * target + (1 - lam) * target[partner]
            logits = net(x)
            loss = criterion(logits, target)
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
        snapshot = {"model": net.state_dict(), "meta": meta, "record": record}
        # Every epoch is kept, so that the real-face development set can take part in selection.
        torch.save(snapshot, os.path.join(args.out, f"epoch-{epoch + 1:02d}.pt"))
        if val_acc_tta > best["val_acc_tta"]:
            best = dict(record)
            torch.save(snapshot, best_path)
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
