"""One local Ray (2 CPUs) for every test of this folder: starting Ray takes seconds, so it starts once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def local_ray() -> Iterator[Any]:
    import ray

    from docqa.distributed import init_ray

    yield init_ray(num_cpus=2)
    ray.shutdown()
