"""Distributed batch work on Ray Data (the ``ray`` extra): indexing (conversion, splitting, embedding) and batch
reading (question answering, fill-mask) with actor pools.

``RAY_ADDRESS`` selects a cluster; without it a local Ray is started. Ray is imported on first use only.
"""

from __future__ import annotations

from docqa.distributed.batch import RayProcessor, ray_batch
from docqa.distributed.indexing import RayIndexResult, ray_index
from docqa.distributed.runtime import init_ray

__all__ = ["RayIndexResult", "RayProcessor", "init_ray", "ray_batch", "ray_index"]
