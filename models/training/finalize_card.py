"""Adds the measured evaluation (FP32 and INT8, from `emobot eval-model --json`) and the file
hashes to the model card, so the card states what the committed files do."""
import argparse
import hashlib
import json
import os


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


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--card", required=True)
    p.add_argument("--fp32", required=True)
    p.add_argument("--int8", required=True)
    p.add_argument("--eval-fp32", required=True)
    p.add_argument("--eval-int8", required=True)
    p.add_argument("--latency-setup", required=True)
    args = p.parse_args()
    with open(args.card) as f:
        card = json.load(f)
    fp32, int8 = evaluation(args.eval_fp32), evaluation(args.eval_int8)
    with open(args.eval_fp32) as f:
        count = json.load(f)["count"]
    card["evaluation"] = {
        "split": f"FER-2013 validation (PublicTest), {count} images, all-black placeholder included",
        "latency_setup": args.latency_setup,
        "fp32": fp32, "int8": int8,
        "int8_speedup": round(fp32["ms_per_face"] / int8["ms_per_face"], 2),
    }
    card["files"] = {"fp32": file_entry(args.fp32), "int8": file_entry(args.int8)}
    with open(args.card, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    print(json.dumps({"fp32": fp32["accuracy"], "int8": int8["accuracy"], "speedup": card["evaluation"]["int8_speedup"]}))


if __name__ == "__main__":
    main()
