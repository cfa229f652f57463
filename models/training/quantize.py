"""INT8 static post-training quantization of the FP32 ONNX model, in QDQ format.

Two steps around an activation calibration run in onnxruntime-node (calibrate-activations.mjs),
so that calibration sees exactly the runtime's preprocessing:

  prepare: pick the calibration images (listed in calibration/), and write a copy of the model that
           also outputs every activation tensor that will be quantized.
  finish:  from the recorded ranges, write the QDQ model: weights int8 symmetric per output channel
           in a 7-bit range (+-63, see WEIGHT_MAX),
           biases int32 at input_scale * weight_scale, activations uint8 asymmetric (U8S8, the fast
           path of onnxruntime's x86 and Arm CPU kernels). ReLU6 (Clip) after a convolution is
           folded into the quantization range, so onnxruntime fuses each block into QLinearConv.
"""
import argparse
import csv
import gzip
import json
import os
import random
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fer_data import LABELS, load_split, non_blank_indices  # noqa: E402

TRANSPARENT = {"Flatten", "Reshape"}


def consumers(graph):
    result = {}
    for node in graph.node:
        for name in node.input:
            result.setdefault(name, []).append(node)
    return result


def activations_to_quantize(model):
    """Tensors that get a QuantizeLinear/DequantizeLinear pair: every input of a Conv, Add, pooling
    or Gemm. A Conv output consumed only by Clip is skipped: the Clip output carries its range."""
    graph = model.graph
    users = consumers(graph)
    names = [graph.input[0].name]
    for node in graph.node:
        if node.op_type == "Constant":
            continue
        out = node.output[0]
        if node.op_type == "Gemm" or out in {o.name for o in graph.output}:
            continue
        if node.op_type == "Conv" and all(u.op_type == "Clip" for u in users.get(out, [])):
            continue
        names.append(out)
    return names


def prepare(args):
    model = onnx.load(args.fp32)
    names = activations_to_quantize(model)
    existing = {o.name for o in model.graph.output}
    for name in names[1:]:
        if name not in existing:
            model.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    onnx.save(model, args.augmented)

    images, labels = load_split(args.data, "train")
    candidates = non_blank_indices(images).tolist()
    chosen = sorted(random.Random(args.seed).sample(candidates, args.count))
    with gzip.open(os.path.join(args.data, "train-manifest.csv.gz"), "rt") as f:
        manifest = list(csv.DictReader(f))
    os.makedirs(os.path.dirname(args.list), exist_ok=True)
    with open(args.list, "w") as f:
        f.write(f"# {args.count} FER-2013 training images (seed {args.seed}) that calibrate the INT8 model's\n"
                "# activation ranges: index into train-images-idx3-ubyte.gz, label, source file of the image.\n")
        f.write("index,label,source_path\n")
        for i in chosen:
            f.write(f"{i},{LABELS[int(labels[i])]},{manifest[i]['source_path']}\n")
    print(json.dumps({"augmented": args.augmented, "tensors": len(names), "calibration_images": len(chosen)}))


# x86 CPUs with AVX2 but without VNNI multiply uint8 activations by int8 weights with vpmaddubsw,
# which adds two products into a saturating int16: 2 x 255 x 127 overflows, 2 x 255 x 63 cannot.
# "reduced" (7-bit weights, onnxruntime's reduce_range) gives the same results on every CPU.
WEIGHT_MAX = {"full": 127.0, "reduced": 63.0}


def uint8_params(lo, hi):
    lo, hi = min(0.0, float(lo)), max(0.0, float(hi))
    scale = (hi - lo) / 255.0 or 1.0
    zero_point = int(np.clip(round(-lo / scale), 0, 255))
    return np.float32(scale), np.uint8(zero_point)


def finish(args):
    model = onnx.load(args.fp32)
    graph = model.graph
    with open(args.ranges) as f:
        ranges = json.load(f)
    inits = {i.name: i for i in graph.initializer}
    producers = {o: n for n in graph.node for o in n.output}
    new_inits, new_nodes = [], []
    params = {}

    for name in activations_to_quantize(model):
        producer = producers.get(name)
        if producer is not None and producer.op_type in TRANSPARENT:
            params[name] = params[producer.input[0]]  # same grid: onnxruntime drops the Q/DQ pair
        else:
            params[name] = uint8_params(*ranges[name])
        scale, zp = params[name]
        new_inits += [numpy_helper.from_array(np.array(scale, np.float32), f"{name}_scale"),
                      numpy_helper.from_array(np.array(zp, np.uint8), f"{name}_zero_point")]
        q = helper.make_node("QuantizeLinear", [name, f"{name}_scale", f"{name}_zero_point"], [f"{name}_quantized"])
        dq = helper.make_node("DequantizeLinear", [f"{name}_quantized", f"{name}_scale", f"{name}_zero_point"],
                              [f"{name}_dequantized"])
        new_nodes.append((name, [q, dq]))

    rewired = {name for name, _ in new_nodes}
    for node in graph.node:
        for i, inp in enumerate(node.input):
            if inp in rewired:
                node.input[i] = f"{inp}_dequantized"

    weight_nodes = []
    for node in graph.node:
        if node.op_type not in ("Conv", "Gemm"):
            continue
        x_scale = params[node.input[0].removesuffix("_dequantized")][0]
        w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        per_channel = node.op_type == "Conv"
        w_max = WEIGHT_MAX[args.weights]
        if per_channel:
            w_scale = np.maximum(np.abs(w).reshape(w.shape[0], -1).max(axis=1), 1e-12) / w_max
            w_q = np.clip(np.round(w / w_scale.reshape(-1, *([1] * (w.ndim - 1)))), -w_max, w_max).astype(np.int8)
            w_zp = np.zeros(w.shape[0], np.int8)
            axis = {"axis": 0}
        else:
            w_scale = np.array(max(np.abs(w).max(), 1e-12) / w_max, np.float32)
            w_q = np.clip(np.round(w / w_scale), -w_max, w_max).astype(np.int8)
            w_zp = np.array(0, np.int8)
            axis = {}
        w_name = node.input[1]
        new_inits += [numpy_helper.from_array(w_q, f"{w_name}_quantized"),
                      numpy_helper.from_array(w_scale.astype(np.float32), f"{w_name}_scale"),
                      numpy_helper.from_array(w_zp, f"{w_name}_zero_point")]
        weight_nodes.append(helper.make_node("DequantizeLinear", [f"{w_name}_quantized", f"{w_name}_scale", f"{w_name}_zero_point"],
                                             [f"{w_name}_dequantized"], **axis))
        node.input[1] = f"{w_name}_dequantized"
        if len(node.input) > 2 and node.input[2]:
            b_name = node.input[2]
            b = numpy_helper.to_array(inits[b_name]).astype(np.float64)
            b_scale = (x_scale * w_scale).astype(np.float32)
            b_q = np.round(b / b_scale).astype(np.int32)
            new_inits += [numpy_helper.from_array(b_q, f"{b_name}_quantized"),
                          numpy_helper.from_array(b_scale, f"{b_name}_scale"),
                          numpy_helper.from_array(np.zeros_like(b_q) if per_channel else np.array(0, np.int32), f"{b_name}_zero_point")]
            weight_nodes.append(helper.make_node("DequantizeLinear", [f"{b_name}_quantized", f"{b_name}_scale", f"{b_name}_zero_point"],
                                                 [f"{b_name}_dequantized"], **axis))
            node.input[2] = f"{b_name}_dequantized"

    # Keep the graph topologically sorted: each Q/DQ pair right after its tensor's producer.
    pairs = dict(new_nodes)
    ordered = weight_nodes + pairs.pop(graph.input[0].name, [])
    for node in graph.node:
        ordered.append(node)
        ordered += pairs.pop(node.output[0], [])
    used = {i for n in ordered for i in n.input}
    del graph.node[:]
    graph.node.extend(ordered)
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep + [i for i in new_inits if i.name in used])
    onnx.checker.check_model(model)
    onnx.save(model, args.out)
    print(json.dumps({"int8": args.out, "quantized_activations": len(params), "quantized_weights": len(weight_nodes)}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="step", required=True)
    pp = sub.add_parser("prepare")
    pp.add_argument("--fp32", required=True)
    pp.add_argument("--augmented", required=True)
    pp.add_argument("--data", default="../shared/data/fer2013")
    pp.add_argument("--list", default="calibration/int8-calibration-images.csv")
    pp.add_argument("--count", type=int, default=400)
    pp.add_argument("--seed", type=int, default=2013)
    pf = sub.add_parser("finish")
    pf.add_argument("--fp32", required=True)
    pf.add_argument("--ranges", required=True)
    pf.add_argument("--out", required=True)
    pf.add_argument("--weights", choices=sorted(WEIGHT_MAX), default="reduced",
                    help="int8 weight range: reduced (+-63) is exact on AVX2 CPUs without VNNI; full (+-127)")
    args = p.parse_args()
    (prepare if args.step == "prepare" else finish)(args)


if __name__ == "__main__":
    main()
