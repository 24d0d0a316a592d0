"""Connecting to Ray: the cluster ``RAY_ADDRESS`` names, else a local one."""

from __future__ import annotations

import os
import sys
from typing import Any

from docqa.errors import DocqaError


def ray_module() -> Any:
    """The ``ray`` module, or a one-line DocqaError saying how to install it."""
    try:
        import ray
        import ray.data  # Ray Data ships in ray[data]
    except ImportError as error:
        raise DocqaError(f"--ray needs the ray extra (pip install 'docqa[ray]'): {error}") from None
    return ray


def init_ray(num_cpus: int | None = None) -> Any:
    """Connect once: to ``RAY_ADDRESS`` when set (a cluster), else start a local Ray with ``num_cpus``.

    Returns the ``ray`` module. Ray Data keeps the input order, so results come back in the order of the input
    (a distributed run then equals the local one exactly), and shows progress bars only on a terminal.
    """
    ray = ray_module()
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        try:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        except Exception as error:  # Ray raises plain Exception / ConnectionError for a node that does not start
            where = f"the Ray cluster at {address}" if address else "a local Ray"
            lines = str(error).strip().splitlines()
            raise DocqaError(
                f"could not start or reach {where}: {lines[0] if lines else type(error).__name__}"
            ) from None
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = sys.stderr.isatty()
    return ray
