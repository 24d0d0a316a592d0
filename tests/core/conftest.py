"""Loads tests/core/toys.py as module ``docqa_test_toys``: a stable dotted path for the YAML tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

TOYS = "docqa_test_toys"


def _load_toys() -> ModuleType:
    if TOYS in sys.modules:
        return sys.modules[TOYS]
    spec = importlib.util.spec_from_file_location(TOYS, Path(__file__).with_name("toys.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[TOYS] = module
    spec.loader.exec_module(module)
    return module


_load_toys()


@pytest.fixture
def toys() -> ModuleType:
    return _load_toys()
