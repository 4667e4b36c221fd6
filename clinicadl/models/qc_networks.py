"""The networks of ``clinicadl quality-check t1-linear``: upstream's three 2D classifiers of registration quality.

Each network sees three orthogonal 224x224 slices of a t1-linear image (one channel each), passes every slice through
the same 2D backbone, concatenates the three feature maps along the channels and classifies the image as failed
(class 0) or passed (class 1). The layers, their order and their names are those of ClinicaDL 1.x
(``clinicadl/quality_check/t1_linear/models.py``), themselves taken from DARQ and Deep-QC, so that the state
dictionaries that ClinicaDL publishes (``resnet_18_darq.pth``, ``resnet18.pth.tar``, ``sq101_darq.pth``) load
with :meth:`torch.nn.Module.load_state_dict` unchanged; ``tests/models/test_qc_networks.py`` checks the keys and
shapes.

======== ============================= =====================================
network  backbone                      upstream weights file
======== ============================= =====================================
darq     ResNet-18 (BasicBlock x 2222) ``resnet_18_darq.pth``
deep_qc  ResNet-18 (BasicBlock x 2222) ``resnet18.pth.tar``
sq101    SqueezeNet 1.1                ``sq101_darq.pth``
======== ============================= =====================================

References
----------
Fonov V. et al. (2022). DARQ: Deep learning of quality control for stereotaxic registration of human brain MRI to
the T1w MNI-ICBM 152 template. NeuroImage 257, 119266.
Fonov V. et al. (2018). Deep learning of quality control for stereotaxic registration of human brain MRI.
bioRxiv 303487 (Deep-QC).
He K. et al. (2016). Deep residual learning for image recognition. CVPR, 770-778.
Iandola F. N. et al. (2016). SqueezeNet: AlexNet-level accuracy with 50x fewer parameters. arXiv:1602.07360.
"""

from __future__ import annotations

import torch
from torch import nn

QC_NETWORKS: tuple[str, ...] = ("darq", "deep_qc", "sq101")
"""Names of ``--network``, in upstream's order."""

N_VIEWS = 3
"""Slices per image (axial, sagittal, coronal), each seen by the backbone on its own."""

SLICE_SIZE = 224
"""Height and width of each slice fed to the backbone."""


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch normalisation and a shortcut (torchvision's ResNet ``BasicBlock``)."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


def _addon(num_classes: int) -> nn.Sequential:
    """The head that merges the three views (indices as upstream's ``addon``: convolutions at 0, 3, 6, 9, 13)."""
    width = 512
    return nn.Sequential(
        nn.Conv2d(N_VIEWS * width, width, 1), nn.BatchNorm2d(width), nn.ReLU(),
        nn.Conv2d(width, 32, 1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 7), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Dropout2d(p=0.5),
        nn.Conv2d(32, num_classes, 1),
    )


class ResNetQC(nn.Module):
    """ResNet-18 backbone on each view, then the merging head (upstream's ``ResNet_DarqQC`` / ``ResNet_DeepQC``).

    Parameters
    ----------
    num_classes : int
        Outputs (2: failed, passed).
    with_fc : bool
        Keep the unused ``fc`` layer of the ImageNet ResNet, as DARQ does (its weights file holds ``fc.*``);
        Deep-QC has none.
    """

    def __init__(self, num_classes: int = 2, *, with_fc: bool = True):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        widths, in_planes = (64, 128, 256, 512), 64
        for index, planes in enumerate(widths, start=1):
            stride = 1 if index == 1 else 2
            self.add_module(f"layer{index}", nn.Sequential(BasicBlock(in_planes, planes, stride),
                                                           BasicBlock(planes, planes)))
            in_planes = planes
        if with_fc:
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)
        self.addon = _addon(num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, 1, SLICE_SIZE, SLICE_SIZE)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = x.reshape(-1, N_VIEWS * 512, 7, 7)
        return self.addon(x).flatten(1)


class Fire(nn.Module):
    """SqueezeNet's fire module: a 1x1 squeeze, then 1x1 and 3x3 expansions concatenated."""

    def __init__(self, in_planes: int, squeeze: int, expand1x1: int, expand3x3: int):
        super().__init__()
        self.squeeze = nn.Conv2d(in_planes, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, 1)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.squeeze(x))
        return torch.cat([self.relu(self.expand1x1(x)), self.relu(self.expand3x3(x))], 1)


class SqueezeNetQC(nn.Module):
    """SqueezeNet 1.1 on each view, then a 1x1 convolution over the three views (upstream's ``SqueezeNetQC``)."""

    def __init__(self, num_classes: int = 2):
        super().__init__()
        self.num_classes = num_classes
        pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)  # noqa: E731
        self.features = nn.Sequential(
            nn.Conv2d(1, 64, kernel_size=3, stride=2), nn.ReLU(), pool(),
            Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
            Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(),
            Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256),
        )
        final = nn.Conv2d(N_VIEWS * 512, num_classes, 1)
        self.classifier = nn.Sequential(nn.Dropout(p=0.5), final, nn.ReLU(), nn.AvgPool2d(13, stride=1))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                if module is final:
                    nn.init.normal_(module.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x.reshape(-1, 1, SLICE_SIZE, SLICE_SIZE))
        x = x.reshape(-1, N_VIEWS * 512, 13, 13)
        return self.classifier(x).reshape(-1, self.num_classes)


def build_qc_network(name: str) -> nn.Module:
    """The untrained network of ``--network name`` (``darq``, ``deep_qc`` or ``sq101``).

    Examples
    --------
    >>> sorted(build_qc_network("sq101").state_dict())[:2]
    ['classifier.1.bias', 'classifier.1.weight']
    """
    if name == "darq":
        return ResNetQC(with_fc=True)
    if name == "deep_qc":
        return ResNetQC(with_fc=False)
    if name == "sq101":
        return SqueezeNetQC()
    raise ValueError(f"unknown QC network {name!r}; choose among {', '.join(QC_NETWORKS)}")
