"""The one rule for names of components and document stores in a pipeline (and so in its YAML file).

>>> check_name("reader")
'reader'
"""

from __future__ import annotations

import re
from typing import Any

from docqa.errors import PipelineError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
NAME_RULE = "letters, digits, '_' and '-', not starting with a digit"


def check_name(name: Any, what: str = "component") -> str:
    """``name`` if it is a valid component / document store name, else a PipelineError saying the rule."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise PipelineError(f"invalid {what} name {name!r}: use {NAME_RULE}")
    return name
