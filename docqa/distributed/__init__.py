"""Distributed batch work on Ray Data (the ``ray`` extra): indexing (conversion, splitting, embedding) with actor pools.

``RAY_ADDRESS`` selects a cluster; without it a local Ray is started. Ray is imported on first use only.
"""

from __future__ import annotations

from docqa.distributed.indexing import RayIndexResult, ray_index
from docqa.distributed.runtime import init_ray

__all__ = ["RayIndexResult", "init_ray", "ray_index"]
