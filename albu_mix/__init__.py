"""albu_mix: paper-exact Cutout, MixUp, CutMix and label smoothing for albumentations pipelines."""

from __future__ import annotations

from .batching import collate
from .detection import aligned_masks
from .labels import encode_label, mix_labels, smooth_label
from .mixing import CutMix, MixUp
from .partners import PartnerError
from .pool import PartnerPool, Recall, Remember
from .schedule import Schedule
from .seeding import reseed, worker_init_fn
from .transforms import Cutout, LabelSmoothing

__version__ = "0.2.0"

__all__ = [
    "CutMix",
    "Cutout",
    "LabelSmoothing",
    "MixUp",
    "PartnerError",
    "PartnerPool",
    "Recall",
    "Remember",
    "Schedule",
    "__version__",
    "aligned_masks",
    "collate",
    "encode_label",
    "mix_labels",
    "reseed",
    "smooth_label",
    "worker_init_fn",
]
