"""Adds the measured evaluation (FP32 and INT8, from `emobot eval-model --json`) and the file
hashes to the model card, so the card states what the committed files do."""
import argparse
import hashlib
import json
import os
import sys


def file_entry(path):
    with open(path, "rb") as f:
        data = f.read()
    return {"path": os.path.basename(path), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def evaluation(path):
    with open(path) as f:
        r = json.load(f)
    return {
        "accuracy": round(r["accuracy"], 4), "macro_f1": round(r["macroF1"], 4),
        "per_class": {k: {m: (round(v, 4) if isinstance(v, float) else v) for m, v in c.items()} for k, c in r["perClass"].items()},
        "confusion": r["confusion"], "ms_per_face": round(r["msPerImage"], 3),
    }


def faces_evaluation(path):
    with open(path) as f:
        r = json.load(f)
    return {
        "accuracy": round(r["accuracy"], 4), "macro_f1": round(r["macroF1"], 4), "face_found": round(r["faceFound"], 4),
        "per_class": {k: {"support": c["support"], "recall": round(c["recall"], 4)} for k, c in r["perClass"].items()},
        "confusion": r["confusion"],
    }


def across_cpus_basis(card):
    """What INT8's figures on other CPUs depend on besides the CPU: both files and how the runtime uses them."""
    return {"int8_sha256": card["files"]["int8"]["sha256"], "fp32_sha256": card["files"]["fp32"]["sha256"],
            "runtime": {key: card[key] for key in ("input", "output", "test_time_flip")}}


def metrics_markdown(card):
    """The README tables, written from the card so the two can never disagree."""
    ev, labels = card["evaluation"], card["labels"]
    fp32, int8 = ev["fp32"], ev["int8"]
    pct = lambda x: f"{100 * x:.2f}%"
    lines = [
        "| | FP32 | INT8 |", "| --- | ---: | ---: |",
        f"| accuracy | {pct(fp32['accuracy'])} | {pct(int8['accuracy'])} |",
        f"| macro-F1 | {pct(fp32['macro_f1'])} | {pct(int8['macro_f1'])} |",
        f"| ms per face | {fp32['ms_per_face']} | {int8['ms_per_face']} |",
        f"| file | {card['files']['fp32']['bytes'] / 1e6:.1f} MB | {card['files']['int8']['bytes'] / 1e6:.1f} MB |",
        "", f"INT8 is {ev['int8_speedup']}x faster than FP32 ({ev['latency_setup']}). Measured on {ev['cpu']}.", "",
        "Per class (recall; INT8 minus FP32 in points):", "",
        "| class | images | FP32 recall | INT8 recall | difference | INT8 precision | INT8 F1 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label in labels:
        a, b = fp32["per_class"][label], int8["per_class"][label]
        lines.append(f"| {label} | {b['count']} | {pct(a['recall'])} | {pct(b['recall'])} | "
                     f"{100 * (b['recall'] - a['recall']):+.2f} | {pct(b['precision'])} | {pct(b['f1'])} |")
    for name, r in (("FP32", fp32), ("INT8", int8)):
        lines += ["", f"{name} confusion matrix (rows: true class, columns: predicted):", "",
                  "| | " + " | ".join(labels) + " |", "| --- |" + " ---: |" * len(labels)]
        lines += [f"| {label} | " + " | ".join(str(v) for v in row) + " |" for label, row in zip(labels, r["confusion"])]
    ferplus = ev.get("ferplus_val")
    if ferplus:
        lines += ["", f"Against FER+'s labels ({ferplus['split']}):", "", "| | FP32 | INT8 |", "| --- | ---: | ---: |",
                  f"| accuracy | {pct(ferplus['fp32']['accuracy'])} | {pct(ferplus['int8']['accuracy'])} |",
                  f"| macro-F1 | {pct(ferplus['fp32']['macro_f1'])} | {pct(ferplus['int8']['macro_f1'])} |"]
    dev = ev.get("dev_set")
    if dev:
        lines += ["", f"Development set, the whole live path ({dev['setup']}):", "",
                  "| | FP32 | INT8 |", "| --- | ---: | ---: |",
                  f"| faces found | {pct(dev['fp32']['face_found'])} | {pct(dev['int8']['face_found'])} |",
                  f"| accuracy | {pct(dev['fp32']['accuracy'])} | {pct(dev['int8']['accuracy'])} |",
                  f"| macro-F1 | {pct(dev['fp32']['macro_f1'])} | {pct(dev['int8']['macro_f1'])} |"]
        lines += [f"| {label} recall ({dev['int8']['per_class'][label]['support']}) | {pct(dev['fp32']['per_class'][label]['recall'])} | "
                  f"{pct(dev['int8']['per_class'][label]['recall'])} |" for label in labels]
    across = ev.get("int8_across_cpus")
    if across:
        ref = across["fp32_reference"]
        lines += ["", f"INT8 on each CPU's int8 kernels against FP32 on {ref['cpu']} ({pct(ref['accuracy'])}), "
                      f"{across['images']} validation images ({across['setup']}):", "",
                  "| CPU | INT8 accuracy | INT8 minus FP32, points | top class agreement |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {r['cpu']} | {pct(r['accuracy'])} | {100 * r['int8_minus_fp32']:+.2f} | {pct(r['agreement'])} |"
                  for r in across["results"]]
    t = card["training"]
    offsets = ev.get("logit_offsets")
    if offsets:
        shifted = ", ".join(f"{label} {value:+g}" for label, value in zip(labels, offsets) if value)
        lines += ["", f"All figures above with the card's logit offsets ({shifted}) added before the softmax."]
    lines += ["", f"Training selected epoch {t['selected_epoch']} of {t['args']['epochs']} "
                  f"(validation accuracy in PyTorch, without logit offsets: {pct(t['val_acc'])}, "
                  f"flip-averaged {pct(t['val_acc_flip'])}).",
              "", "| file | bytes | sha256 |", "| --- | ---: | --- |"]
    lines += [f"| `{f['path']}` | {f['bytes']} | `{f['sha256']}` |" for f in card["files"].values()]
    return "\n".join(lines)


def write_readme(path, card):
    with open(path) as f:
        text = f.read()
    start, end = "<!-- metrics:start -->", "<!-- metrics:end -->"
    head, rest = text.split(start)
    _, tail = rest.split(end)
    with open(path, "w") as f:
        f.write(f"{head}{start}\n{metrics_markdown(card)}\n{end}{tail}")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--card", required=True)
    p.add_argument("--fp32", required=True)
    p.add_argument("--int8", required=True)
    p.add_argument("--eval-fp32", required=True)
    p.add_argument("--eval-int8", required=True)
    p.add_argument("--latency-setup", required=True)
    p.add_argument("--readme", required=True, help="README whose metrics section is rewritten")
    p.add_argument("--cpu", required=True, help="the CPU the figures were measured on, with its int8-relevant flags")
    p.add_argument("--faces-fp32", help="emobot eval-faces --json of the FP32 model on the development set")
    p.add_argument("--faces-int8", help="the same for the INT8 model")
    p.add_argument("--ferplus-fp32", help="emobot eval-model --json of the FP32 model on ferplus_val.py's relabelled validation split")
    p.add_argument("--ferplus-int8", help="the same for the INT8 model")
    args = p.parse_args()
    with open(args.card) as f:
        card = json.load(f)
    fp32, int8 = evaluation(args.eval_fp32), evaluation(args.eval_int8)
    with open(args.eval_fp32) as f:
        count = json.load(f)["count"]
    across = card.get("evaluation", {}).get("int8_across_cpus")
    card["evaluation"] = {
        "split": f"FER-2013 validation (PublicTest), {count} images, all-black placeholder included",
        "cpu": args.cpu,
        "latency_setup": args.latency_setup,
        "fp32": fp32, "int8": int8,
        "int8_speedup": round(fp32["ms_per_face"] / int8["ms_per_face"], 2),
        # What the figures were measured with: a later edit of the card's offsets leaves them stale.
        "logit_offsets": card["output"].get("logit_offsets"),
    }
    if args.faces_fp32 and args.faces_int8:
        with open(args.faces_int8) as f:
            faces = json.load(f)
        card["evaluation"]["dev_set"] = {
            "setup": f"{faces['images']} photos of {os.path.basename(os.path.dirname(faces['manifest']))}, padded "
                     f"{round(faces['pad'] * 100)}% by edge replication, detector {faces['detector']}, largest face, "
                     "a photo without a face counted wrong",
            "fp32": faces_evaluation(args.faces_fp32), "int8": faces_evaluation(args.faces_int8),
        }
    if args.ferplus_fp32 and args.ferplus_int8:
        summary = lambda r: {"accuracy": r["accuracy"], "macro_f1": r["macro_f1"]}
        with open(args.ferplus_int8) as f:
            relabelled = json.load(f)["count"]
        card["evaluation"]["ferplus_val"] = {
            "split": f"the same validation split labelled by FER+'s crowd votes, {relabelled} records with one of the "
                     "seven emotions ahead of the others, made by models/training/ferplus_val.py",
            "fp32": summary(evaluation(args.ferplus_fp32)), "int8": summary(evaluation(args.ferplus_int8)),
        }
    card["files"] = {"fp32": file_entry(args.fp32), "int8": file_entry(args.int8)}
    # int8-across-cpus.sh's figures take half an hour of emulation: they stay while what they measured does.
    if across and across["basis"] == across_cpus_basis(card):
        card["evaluation"]["int8_across_cpus"] = across
    elif across:
        print("finalize_card.py: the model files or the card's runtime part changed, so its INT8 figures "
              "across CPUs are dropped: run models/training/int8-across-cpus.sh again", file=sys.stderr)
    with open(args.card, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    write_readme(args.readme, card)
    print(json.dumps({"fp32": fp32["accuracy"], "int8": int8["accuracy"], "speedup": card["evaluation"]["int8_speedup"]}))


if __name__ == "__main__":
    main()
