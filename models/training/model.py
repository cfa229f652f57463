"""The MobileNetV2-family emotion classifier, shared by training and export."""
import torch
import torch.nn as nn
from torchvision.models import efficientnet_b0, mobilenet_v2

ARCHITECTURES = ("mobilenetv2", "efficientnet_b0")


def build_model(num_classes, width, in_channels=1, final_stride=2, dropout=0.2, arch="mobilenetv2"):
    """A torchvision classifier with a grayscale stem: MobileNetV2 (what the robot runs) or
    EfficientNet-B0 (a larger teacher to distil into it; `width` applies to MobileNetV2 only).

    final_stride=1 keeps the last downsampling stage at stride 1, so a 64 px face ends as a
    4x4 feature map instead of 2x2: expression cues (mouth corners, brows) survive to the head.
    """
    if arch == "mobilenetv2":
        net = mobilenet_v2(num_classes=num_classes, width_mult=width, dropout=dropout)
        # features[14] is the first block of the 160-channel stage, the network's last stride-2 conv.
        last_downsampling = net.features[14].conv[1][0]
    elif arch == "efficientnet_b0":
        net = efficientnet_b0(num_classes=num_classes)  # its own dropout, 0.2
        # features[6] is the 192-channel stage; its first block's depthwise conv is the last stride 2.
        last_downsampling = net.features[6][0].block[1][0]
        # torchvision draws this head from +-1/sqrt(classes), which for 7 classes starts the logits
        # at a spread of 2.5 (loss 3.3 against chance's 1.95), one cause of its not learning;
        # MobileNetV2's own head starts near zero.
        nn.init.normal_(net.classifier[1].weight, 0, 0.01)
    else:
        raise ValueError(f"unknown architecture {arch!r}: one of {', '.join(ARCHITECTURES)}")
    stem = net.features[0][0]
    net.features[0][0] = nn.Conv2d(in_channels, stem.out_channels, kernel_size=3, stride=2, padding=1, bias=False)
    if final_stride == 1:
        last_downsampling.stride = (1, 1)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
    return net


def build_from_meta(meta):
    """The network a checkpoint's `meta` describes (runs from before --arch are MobileNetV2)."""
    return build_model(len(meta["labels"]), meta["width"], final_stride=meta["final_stride"],
                       arch=meta.get("arch", "mobilenetv2"))


def describe(meta):
    """The model card's name and architecture line for a checkpoint's network."""
    arch = meta.get("arch", "mobilenetv2")
    if arch == "efficientnet_b0":
        return "emotion-efficientnet-b0", f"EfficientNet-B0 (torchvision), grayscale stem, last stride {meta['final_stride']}"
    return "emotion-mobilenetv2", (f"MobileNetV2 (torchvision), width {meta['width']}, grayscale stem, "
                                   f"last stride {meta['final_stride']}")


@torch.no_grad()
def load_folded_onnx(net, onnx_path, images):
    """Start from a shipped model whose ONNX export has BatchNorm folded into the convolutions.

    Each conv gets the folded weights, and its BatchNorm is set so that it reproduces the folded
    bias exactly in eval mode: running statistics measured on `images` (a batch of normalised,
    unaugmented training inputs), gamma = that std and beta = that mean plus the folded bias. In
    training mode the batch statistics of augmented batches differ somewhat, so the first steps see
    a model close to, not equal to, the shipped one. Fine-tuning starts from its predictions, not
    from noise.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(onnx_path)
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    gemm = next((n for n in model.graph.node if n.op_type == "Gemm"), None)
    if gemm is None:
        raise ValueError(f"{onnx_path}: no Gemm (classifier) node")
    pairs = [(m, bn) for m, bn in zip(list(net.features.modules()), list(net.features.modules())[1:])
             if isinstance(m, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)]
    if len(pairs) != len(convs):
        raise ValueError(f"{onnx_path}: {len(convs)} convolutions, the network has {len(pairs)}")
    biases = []
    for (conv, bn), node in zip(pairs, convs):
        w = weights[node.input[1]]
        if tuple(w.shape) != tuple(conv.weight.shape):
            raise ValueError(f"{onnx_path}: {node.name} has weights {tuple(w.shape)}, expected {tuple(conv.weight.shape)}")
        conv.weight.copy_(w)
        b = weights[node.input[2]]
        biases.append(b)
        # Exact identity first, so the statistics below are measured on the shipped model's activations.
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)
        bn.weight.fill_(1.0)
        bn.bias.copy_(b)
    linear = net.classifier[1]
    if tuple(weights[gemm.input[1]].shape) != tuple(linear.weight.shape):
        raise ValueError(f"{onnx_path}: classifier weights {tuple(weights[gemm.input[1]].shape)}, expected {tuple(linear.weight.shape)}")
    linear.weight.copy_(weights[gemm.input[1]])
    linear.bias.copy_(weights[gemm.input[2]])

    stats = {}

    def record(key, out):  # per-channel moments only: the activations themselves would take gigabytes
        stats[key] = (out.mean(dim=(0, 2, 3)), out.var(dim=(0, 2, 3), unbiased=False))

    hooks = [conv.register_forward_hook(lambda mod, inp, out, key=i: record(key, out)) for i, (conv, _) in enumerate(pairs)]
    net.eval()
    net(images)
    for h in hooks:
        h.remove()
    for i, (conv, bn) in enumerate(pairs):
        mean, var = stats[i]
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        bn.weight.copy_((var + bn.eps).sqrt())
        bn.bias.copy_(mean + biases[i])
