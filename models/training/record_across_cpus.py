"""Writes int8-across-cpus.sh's results (the JSON lines of int8-across-cpus.mjs predict: FP32's first,
then INT8's on each CPU) into the model card's `evaluation.int8_across_cpus`, with what they were
measured on, and rewrites models/README.md's figures. finalize_card.py keeps them while the model
files and the card's runtime part stay the same."""
import argparse
import json

from finalize_card import across_cpus_basis, write_readme


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--card", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--setup", required=True, help="how the figures were made, for the card and README")
    p.add_argument("--readme", required=True)
    args = p.parse_args()
    with open(args.results) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    with open(args.card) as f:
        card = json.load(f)
    basis = across_cpus_basis(card)
    if not lines or "agreement" in lines[0]:
        raise SystemExit(f"{args.results}: the first line must be FP32's reference answers")
    reference, measured = lines[0], lines[1:]
    if not measured:
        raise SystemExit(f"{args.results}: no INT8 results")
    images = sum(c["count"] for c in card["evaluation"]["int8"]["per_class"].values())  # the card's whole split
    for line, variant in [(reference, "fp32")] + [(r, "int8") for r in measured]:
        if line["sha256"] != basis[f"{variant}_sha256"]:
            raise SystemExit(f"{args.results}: {line['cpu']} measured another {variant} file than the card's")
        if line["images"] != images:
            raise SystemExit(f"{args.results}: {line['cpu']} measured {line['images']} images, not the whole split")
    r4 = lambda x: round(x, 4)
    card["evaluation"]["int8_across_cpus"] = {
        "setup": args.setup, "images": reference["images"], "basis": basis,
        "fp32_reference": {"cpu": reference["cpu"], "accuracy": r4(reference["accuracy"]), "macro_f1": r4(reference["macroF1"])},
        "results": [{"cpu": r["cpu"], "arch": r["arch"], "accuracy": r4(r["accuracy"]), "macro_f1": r4(r["macroF1"]),
                     "int8_minus_fp32": r4(r["minusReference"]), "agreement": r4(r["agreement"])} for r in measured],
    }
    with open(args.card, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    write_readme(args.readme, card)
    print(json.dumps({"cpus": len(measured), "worst_agreement": min(r["agreement"] for r in measured)}))


if __name__ == "__main__":
    main()
