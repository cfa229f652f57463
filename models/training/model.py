"""The MobileNetV2-family emotion classifier, shared by training and export."""
import torch.nn as nn
from torchvision.models import mobilenet_v2


def build_model(num_classes, width, in_channels=1, final_stride=2, dropout=0.2):
    """torchvision MobileNetV2 with a grayscale stem.

    final_stride=1 keeps the last downsampling stage at stride 1, so a 64 px face ends as a
    4x4 feature map instead of 2x2: expression cues (mouth corners, brows) survive to the head.
    """
    net = mobilenet_v2(num_classes=num_classes, width_mult=width, dropout=dropout)
    stem = net.features[0][0]
    net.features[0][0] = nn.Conv2d(in_channels, stem.out_channels, kernel_size=3, stride=2, padding=1, bias=False)
    if final_stride == 1:
        # features[14] is the first block of the 160-channel stage, the network's last stride-2 conv.
        net.features[14].conv[1][0].stride = (1, 1)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
    return net
