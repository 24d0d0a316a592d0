"""Socket type rules: when may an output feed an input, and does a value have the shape its socket declares.

Compatibility (``is_compatible(sender, receiver)``) is a small, strict subset of static typing:

* ``Any`` (or an unresolved ``TypeVar``) on either side is compatible with everything.
* A union sender (``X | None``) is compatible only if *every* member is; a union receiver accepts a sender
  compatible with *any* member. So ``list[Document] | None`` cannot feed ``list[Document]``.
* Plain classes follow ``issubclass``, plus the numeric promotions ``int -> float -> complex``.
* Generics compare their origins with ``issubclass`` (``list[X]`` feeds ``Sequence[X]``, not the reverse) and
  their arguments pairwise, covariantly; a bare ``list`` means ``list[Any]``.
* ``Literal["a"]`` feeds ``str``; nothing but a ``Literal`` feeds a ``Literal``.

>>> from collections.abc import Sequence
>>> is_compatible(list[int], Sequence[float]), is_compatible(int | None, int)
(True, False)
"""

from __future__ import annotations

import numbers
import re
import types
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

_PROMOTIONS: dict[type, tuple[type, ...]] = {float: (int,), complex: (int, float)}
_MAX_DEPTH = 4


def _strip(hint: Any) -> Any:
    while get_origin(hint) is Annotated:
        hint = get_args(hint)[0]
    if isinstance(hint, TypeVar):
        return hint.__bound__ if hint.__bound__ is not None else Any
    return type(None) if hint is None else hint


def _union_members(hint: Any) -> tuple[Any, ...] | None:
    origin = get_origin(hint)
    return get_args(hint) if origin is Union or origin is types.UnionType else None


def _origin_args(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    origin = get_origin(hint)
    return (hint, ()) if origin is None else (origin, get_args(hint))


def _is_subclass(sender: type, receiver: type) -> bool:
    try:
        return issubclass(sender, receiver) or sender in _PROMOTIONS.get(receiver, ())
    except TypeError:  # e.g. typing special forms that are not classes
        return sender == receiver


def is_compatible(sender: Any, receiver: Any) -> bool:
    """Whether a value typed ``sender`` may go where ``receiver`` is expected (rules: module doc)."""
    sender, receiver = _strip(sender), _strip(receiver)
    if sender is Any or receiver is Any:
        return True
    members = _union_members(sender)
    if members is not None:
        return all(is_compatible(member, receiver) for member in members)
    members = _union_members(receiver)
    if members is not None:
        return any(is_compatible(sender, member) for member in members)
    if get_origin(sender) is Literal:
        return all(value_matches(value, receiver) for value in get_args(sender))
    if get_origin(receiver) is Literal:
        return False
    s_origin, s_args = _origin_args(sender)
    r_origin, r_args = _origin_args(receiver)
    if not (isinstance(s_origin, type) and isinstance(r_origin, type)):
        return bool(sender == receiver)
    if not _is_subclass(s_origin, r_origin):
        return False
    if not s_args or not r_args:
        return True
    return len(s_args) == len(r_args) and all(is_compatible(s, r) for s, r in zip(s_args, r_args, strict=True))


def value_matches(value: Any, hint: Any, depth: int = 0) -> bool:
    """Whether ``value`` has the shape ``hint`` declares, checking containers' items a few levels deep."""
    hint = _strip(hint)
    if hint is Any:
        return True
    members = _union_members(hint)
    if members is not None:
        return any(value_matches(value, member, depth) for member in members)
    origin, args = _origin_args(hint)
    if origin is Literal:
        return value in args
    if not isinstance(origin, type):
        return True  # a form we cannot check at run time (Callable[...], ...)
    if origin is float:
        return isinstance(value, numbers.Real)
    if origin is int:
        return isinstance(value, numbers.Integral)
    if not isinstance(value, origin):
        return False
    if not args or depth >= _MAX_DEPTH:
        return True
    return _items_match(value, args, depth + 1)


def _items_match(value: Any, args: tuple[Any, ...], depth: int) -> bool:
    if isinstance(value, Mapping) and len(args) == 2:
        return all(value_matches(k, args[0], depth) and value_matches(v, args[1], depth) for k, v in value.items())
    if isinstance(value, tuple):
        if len(args) == 2 and args[1] is Ellipsis:
            return all(value_matches(item, args[0], depth) for item in value)
        return len(value) == len(args) and all(value_matches(v, a, depth) for v, a in zip(value, args, strict=True))
    if isinstance(value, (list, set, frozenset)) and len(args) == 1:
        return all(value_matches(item, args[0], depth) for item in value)
    return True


def type_name(hint: Any) -> str:
    """A short readable name: ``list[Document] | None`` rather than ``list[docqa.schema.Document] | None``."""
    hint = _strip(hint)
    if hint is Any:
        return "Any"
    if isinstance(hint, type) and not get_args(hint):
        return "None" if hint is type(None) else hint.__name__
    text = re.sub(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)", r"\1", repr(hint))
    return text.replace("NoneType", "None")
