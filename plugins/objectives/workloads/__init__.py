"""The AD workloads the field measures: ADBench's and GradBench's tasks as objectives."""
from __future__ import annotations

from .ba import BundleAdjustment
from .elementary import ELEMENTARY
from .gmm import GaussianMixture
from .kmeans import KMeans
from .lstm import LongShortTermMemory

WORKLOADS = (GaussianMixture, BundleAdjustment, LongShortTermMemory, KMeans, *ELEMENTARY)
