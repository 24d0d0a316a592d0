"""The component contract: typed ``run()`` inputs, declared outputs, init parameters captured from the signature.

A component is a class decorated with :func:`component`::

    from docqa.core.component import component

    @component
    class Uppercase:
        def __init__(self, repeat: int = 1) -> None:
            self.repeat = repeat

        @component.output_types(text=str)
        def run(self, text: str) -> dict[str, str]:
            return {"text": text.upper() * self.repeat}

    assert Uppercase(repeat=2).run("a") == {"text": "AA"}
    assert init_parameters(Uppercase(repeat=2)) == {"repeat": 2}

* Input sockets are ``run``'s parameters with their type hints; a parameter with a default is optional.
  ``Variadic[T]`` marks an input that several senders may feed: ``run`` receives a ``list[T]`` of their values.
* Output sockets are declared with ``@component.output_types(name=type, ...)``; ``run`` returns a dict of them.
* Init parameters are captured when ``__init__`` runs: every argument of its signature, defaults applied. They are
  the component's serialized form, so there is no hand-written ``to_dict`` list that can drift from ``__init__``.
* Heavy loading (models) belongs in ``warm_up()``, which must be idempotent: pipelines call it lazily before a run.
"""

from __future__ import annotations

import copy
import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeAlias, TypeVar, get_args, get_origin

from docqa.errors import ComponentError

T = TypeVar("T")
C = TypeVar("C", bound=type)

_INIT_PARAMS_ATTR = "__docqa_init_parameters__"
_OUTPUT_TYPES_ATTR = "__docqa_output_types__"
_COMPONENT_MARK = "__docqa_component__"


class _VariadicMarker:
    def __repr__(self) -> str:
        return "Variadic"


_VARIADIC = _VariadicMarker()


#: ``Variadic[T]``: an input that accepts any number of connections; ``run`` gets a ``list[T]``. A generic
#: ``Annotated`` alias: type checkers see ``list[T]``, docqa finds the marker in the annotation's metadata.
Variadic: TypeAlias = Annotated[list[T], _VARIADIC]


class _Mandatory:
    def __repr__(self) -> str:
        return "MANDATORY"


#: Default of an input socket that has none: the pipeline must provide it.
MANDATORY: Any = _Mandatory()


@dataclass(frozen=True)
class InputSocket:
    name: str
    type: Any
    default: Any = MANDATORY
    is_variadic: bool = False

    @property
    def is_mandatory(self) -> bool:
        return self.default is MANDATORY

    @property
    def item_type(self) -> Any:
        """The type of one connection's value: ``T`` for ``Variadic[T]``, else the socket's type."""
        return get_args(self.type)[0] if self.is_variadic else self.type


@dataclass(frozen=True)
class OutputSocket:
    name: str
    type: Any


def _is_variadic(hint: Any) -> bool:
    return get_origin(hint) is Annotated and any(arg is _VARIADIC for arg in hint.__metadata__)


def _strip_annotated(hint: Any) -> Any:
    return get_args(hint)[0] if get_origin(hint) is Annotated else hint


def _run_of(cls: type) -> Callable[..., Any]:
    run: Callable[..., Any] = cls.run  # type: ignore[attr-defined]
    return run


def input_sockets(component_or_class: Any) -> dict[str, InputSocket]:
    """The input sockets of a component class or instance, from ``run``'s signature."""
    cls = component_or_class if isinstance(component_or_class, type) else type(component_or_class)
    return _input_sockets(cls)


@functools.cache
def _input_sockets(cls: type) -> dict[str, InputSocket]:
    run = _run_of(cls)
    hints = typing.get_type_hints(run, include_extras=True)
    sockets: dict[str, InputSocket] = {}
    for name, param in inspect.signature(run).parameters.items():
        if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        hint = hints.get(name, Any)
        default = MANDATORY if param.default is inspect.Parameter.empty else param.default
        variadic = _is_variadic(hint)
        sockets[name] = InputSocket(name, _strip_annotated(hint), default, variadic)
    return sockets


def output_sockets(component_or_class: Any) -> dict[str, OutputSocket]:
    """The output sockets declared with ``@component.output_types``."""
    cls = component_or_class if isinstance(component_or_class, type) else type(component_or_class)
    declared: dict[str, Any] = getattr(_run_of(cls), _OUTPUT_TYPES_ATTR, {})
    return {name: OutputSocket(name, kind) for name, kind in declared.items()}


def init_parameters(instance: Any) -> dict[str, Any]:
    """The arguments ``instance`` was built with (defaults applied): its serialized form."""
    try:
        return dict(getattr(instance, _INIT_PARAMS_ATTR))
    except AttributeError:
        name = type(instance).__name__
        raise ComponentError(f"{name} is not a docqa component (no captured init parameters)") from None


def set_init_parameter(instance: Any, name: str, value: Any) -> None:
    """Replace one recorded init argument of ``instance`` (what it serializes to), e.g. a secret it must not dump."""
    recorded = getattr(instance, _INIT_PARAMS_ATTR, None)
    if recorded is None or name not in recorded:
        raise ComponentError(f"{type(instance).__name__} has no captured init parameter {name!r}")
    recorded[name] = value


def copy_component(instance: T, **changes: Any) -> T:
    """A shallow copy of ``instance`` (sharing what it loaded, e.g. a model) whose attributes and recorded init
    parameters named in ``changes`` take those values; ``instance`` itself is left as it was."""
    duplicate = copy.copy(instance)
    object.__setattr__(duplicate, _INIT_PARAMS_ATTR, {**init_parameters(instance), **changes})
    for name, value in changes.items():
        setattr(duplicate, name, value)
    return duplicate


def is_component(obj: Any) -> bool:
    cls = obj if isinstance(obj, type) else type(obj)
    return bool(getattr(cls, _COMPONENT_MARK, False))


def capture_init_parameters(cls: C) -> C:
    """Wrap ``cls.__init__`` so every instance remembers its init arguments (defaults applied).

    Used by :func:`component` and by document stores, which serialize the same way.
    """
    original_init: Callable[..., None] = cls.__init__  # type: ignore[misc]
    if original_init is object.__init__:  # no __init__ of its own: nothing to configure

        def original_init(self: Any) -> None:
            pass

    signature = inspect.signature(original_init)
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in signature.parameters.values()):
        raise ComponentError(f"{cls.__name__}.__init__ must not take *args or **kwargs: its parameters are its config")

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        # Only the outermost __init__ records: a subclass's arguments win over its parent's.
        recording = not hasattr(self, _INIT_PARAMS_ATTR)
        if recording:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            arguments.pop(next(iter(signature.parameters)))  # self
            object.__setattr__(self, _INIT_PARAMS_ATTR, arguments)
        original_init(self, *args, **kwargs)

    cls.__init__ = __init__  # type: ignore[misc]
    return cls


def _output_types(**types: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(run: Callable[..., Any]) -> Callable[..., Any]:
        setattr(run, _OUTPUT_TYPES_ATTR, dict(types))
        return run

    return decorate


class _ComponentDecorator:
    """``@component`` on a class; ``@component.output_types(...)`` on its ``run`` method."""

    output_types = staticmethod(_output_types)

    def __call__(self, cls: C) -> C:
        if not callable(getattr(cls, "run", None)):
            raise ComponentError(f"{cls.__name__} must define a run() method to be a component")
        if not hasattr(_run_of(cls), _OUTPUT_TYPES_ATTR):
            raise ComponentError(f"{cls.__name__}.run must declare its outputs with @component.output_types(...)")
        if not hasattr(cls, "warm_up"):
            cls.warm_up = lambda self: None  # type: ignore[attr-defined]
        capture_init_parameters(cls)
        setattr(cls, _COMPONENT_MARK, True)
        _input_sockets(cls)  # fail at class definition, not at first use, if run's hints don't resolve
        return cls


component = _ComponentDecorator()
