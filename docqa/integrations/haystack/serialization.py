"""Init parameters of the Haystack classes here: derived from the signatures of the docqa classes they wrap.

Each class takes the parameters of a docqa class (the Haystack ``ExtractiveReader`` takes every setting of
:class:`docqa.readers.ExtractiveReader`, and so on), plus a few of its own. :func:`init_signature` builds its
``__init__`` signature from the docqa class's when the module is imported, so a setting added to docqa appears here
with no edit; :class:`Configured` records the arguments an instance was built with (defaults applied), and those are
what ``to_dict`` writes and ``from_dict`` reads back: no hand-written list that could drift from the constructor.

>>> from haystack import component
>>> class Greeter:
...     def __init__(self, greeting: str = "Hello", times: int = 1) -> None: ...
>>> @component
... @init_signature(Greeter, own=[keyword("punctuation", "!")])
... class HaystackGreeter(Configured):
...     def __init__(self, *args: Any, **kwargs: Any) -> None:
...         self.settings = self._bind(args, kwargs)
...     @component.output_types(text=str)
...     def run(self, name: str) -> dict[str, str]:
...         return {"text": f"{self.settings['greeting']} {name}{self.settings['punctuation']}"}
>>> HaystackGreeter(times=2).to_dict()["init_parameters"]
{'greeting': 'Hello', 'times': 2, 'punctuation': '!'}
>>> HaystackGreeter(color="red")
Traceback (most recent call last):
    ...
TypeError: HaystackGreeter: got an unexpected keyword argument 'color'; valid parameters: greeting, times, punctuation
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from haystack import default_from_dict, default_to_dict
from haystack.core.errors import SerializationError

from docqa.core.serialization import to_plain
from docqa.errors import PipelineError

T = TypeVar("T")
C = TypeVar("C", bound="Configured")

_SELF = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)


def keyword(name: str, default: Any, annotation: Any = inspect.Parameter.empty) -> inspect.Parameter:
    """A parameter with a default, for :func:`init_signature`'s ``own`` and ``replace``."""
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation)


def init_signature(
    wrapped: type,
    *,
    own: Sequence[inspect.Parameter] = (),
    replace: Mapping[str, inspect.Parameter] | None = None,
) -> Callable[[type[T]], type[T]]:
    """A class decorator giving the class's own ``__init__`` the parameters of ``wrapped``'s (in order, those named
    in ``replace`` swapped for its parameters), then ``own``; the class gets it too (``inspect.signature(cls)``).
    Haystack's checks of init parameters, IDEs and :meth:`Configured._bind` read it."""
    parameters = [_SELF]
    for parameter in inspect.signature(wrapped).parameters.values():
        parameters.append((replace or {}).get(parameter.name, parameter))
    signature = inspect.Signature([*parameters, *own])

    def decorate(cls: type[T]) -> type[T]:
        if "__init__" not in vars(cls):
            raise TypeError(f"{cls.__name__} must define its own __init__ to take a derived signature")
        cls.__init__.__signature__ = signature  # type: ignore[misc,attr-defined]
        cls.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])  # type: ignore[attr-defined]
        return cls

    return decorate


def init_parameter_names(cls: type) -> list[str]:
    """The names of ``cls``'s init parameters, in order (without ``self``)."""
    return list(inspect.signature(cls.__init__).parameters)[1:]  # type: ignore[misc]


class Configured:
    """Base of the Haystack classes here: ``__init__`` takes the parameters of its derived signature
    (:func:`init_signature`), recorded with defaults applied; ``to_dict``/``from_dict`` write and read exactly those."""

    _init_parameters: dict[str, Any]

    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Bind ``__init__``'s arguments to its signature, record them (defaults applied) and return a copy."""
        signature = inspect.signature(type(self).__init__)
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as error:
            valid = ", ".join(init_parameter_names(type(self)))
            raise TypeError(f"{type(self).__name__}: {error}; valid parameters: {valid}") from None
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        del arguments["self"]
        self._init_parameters = arguments
        return dict(arguments)

    def _record(self, name: str, value: Any) -> None:
        """Replace what init parameter ``name`` serializes to (e.g. a connection string without its password)."""
        if name not in self._init_parameters:
            raise KeyError(name)
        self._init_parameters[name] = value

    def to_dict(self) -> dict[str, Any]:
        """Haystack's ``{"type": ..., "init_parameters": ...}`` of this instance: the arguments it was built with."""
        label = type(self).__name__
        params = {
            name: _serializable(value, f"{label} init parameter '{name}'")
            for name, value in self._init_parameters.items()
        }
        return default_to_dict(self, **params)

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any]) -> C:
        """Build an instance from :meth:`to_dict`'s output (nested stores and secrets included)."""
        return default_from_dict(cls, data)


def _serializable(value: Any, where: str) -> Any:
    """``value`` as Haystack serializes it: objects with ``to_dict`` (stores, secrets) as themselves (Haystack calls
    it), everything else as plain data (enums as their values, tuples as lists, paths as text)."""
    if value is not None and callable(getattr(value, "to_dict", None)):
        return value
    try:
        return to_plain(value, where)
    except PipelineError as error:
        raise SerializationError(str(error)) from None
