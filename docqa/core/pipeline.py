"""Pipelines: components wired output-to-input, checked when wired, run in topological order.

>>> from docqa.core.component import component
>>> @component
... class Greet:
...     @component.output_types(text=str)
...     def run(self, name: str) -> dict[str, str]:
...         return {"text": f"hello {name}"}
>>> @component
... class Shout:
...     @component.output_types(text=str)
...     def run(self, text: str) -> dict[str, str]:
...         return {"text": text.upper() + "!"}
>>> pipeline = Pipeline()
>>> pipeline.add_component("greet", Greet())
>>> pipeline.add_component("shout", Shout())
>>> pipeline.connect("greet.text", "shout.text")
>>> pipeline.run({"name": "ada"})
{'shout': {'text': 'HELLO ADA!'}}

Inputs to :meth:`Pipeline.run` come in two forms, which may be mixed:

* nested, ``{"reader": {"top_k": 3}}``: the key is a component name and the value a dict of its inputs;
* flat, ``{"query": "..."}``: the value goes to *every* component that has an unconnected input of that name
  (the handy form for ``query``, which retriever, ranker and reader all take).

A key that names a component and holds a dict is read as nested; a nested value wins over a flat one.

:meth:`Pipeline.run_batch_async` runs the same graph on an event loop, for servers: components run in worker
threads, or through an awaitable stand-in for their ``run_batch`` (e.g. a micro-batcher gathering the calls of
concurrent requests), so that waiting for a model never holds a thread.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import typing
from collections.abc import Awaitable, Callable, Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from docqa.core import serialization
from docqa.core.component import InputSocket, OutputSocket, input_sockets, is_component, output_sockets
from docqa.core.names import check_name
from docqa.core.types import is_compatible, type_name, value_matches
from docqa.errors import PipelineError

__all__ = ["AsyncRunBatch", "Connection", "Pipeline", "batch_input_kinds", "check_name"]

#: An awaitable stand-in for a component's ``run_batch``: called with the same keyword arguments, it returns the
#: same ``{output: list over items}``.
AsyncRunBatch = Callable[..., Awaitable[Mapping[str, list[Any]]]]


@dataclass(frozen=True)
class Connection:
    """One wire: ``sender.sender_socket -> receiver.receiver_socket``."""

    sender: str
    sender_socket: str
    receiver: str
    receiver_socket: str

    def __str__(self) -> str:
        return f"{self.sender}.{self.sender_socket} -> {self.receiver}.{self.receiver_socket}"


def _describe(sockets: Mapping[str, InputSocket | OutputSocket]) -> str:
    if not sockets:
        return "(none)"
    return ", ".join(f"{name} ({type_name(socket.type)})" for name, socket in sockets.items())


def _all_equal(values: list[Any]) -> bool:
    try:
        return all(value is values[0] or bool(value == values[0]) for value in values[1:])
    except Exception:  # e.g. numpy arrays, whose == is elementwise: treat as different
        return False


def _mermaid(text: str) -> str:
    """``text`` safe inside a quoted Mermaid label: quotes, ``#`` and angle brackets as Mermaid entity codes."""
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text


@functools.cache
def _batch_kinds(cls: type) -> dict[str, bool]:
    """Per parameter of ``cls.run_batch``: True if per item (``list[<run's type>]``), False if shared."""
    sockets = input_sockets(cls)
    run_batch = getattr(cls, "run_batch")  # noqa: B009 - an optional method, unknown to the type checker
    hints = typing.get_type_hints(run_batch)
    names = [n for n in inspect.signature(run_batch).parameters if n != "self"]
    if sorted(names) != sorted(sockets):
        raise PipelineError(
            f"{cls.__name__}.run_batch must take the same parameters as run ({', '.join(sockets)}), "
            f"not ({', '.join(names)})"
        )
    kinds: dict[str, bool] = {}
    for name, socket in sockets.items():
        hint = hints.get(name, Any)
        if hint == list[socket.type]:  # type: ignore[name-defined]
            kinds[name] = True
        elif hint == socket.type:
            kinds[name] = False
        else:
            expected = type_name(socket.type)
            raise PipelineError(
                f"{cls.__name__}.run_batch parameter '{name}' must be annotated list[{expected}] "
                f"(one value per item) or {expected} (shared by all items), not {type_name(hint)}"
            )
    return kinds


def batch_input_kinds(component_or_class: Any) -> dict[str, bool]:
    """Per input of a component's ``run_batch``: True when it takes one value per item (annotated ``list[T]``
    where ``run`` takes ``T``), False when one value is shared by all items (``top_k``...)."""
    cls = component_or_class if isinstance(component_or_class, type) else type(component_or_class)
    return dict(_batch_kinds(cls))


class Pipeline:
    """A directed acyclic graph of components; see the module documentation for the input forms."""

    def __init__(self) -> None:
        self._components: dict[str, Any] = {}
        self._document_stores: dict[str, Any] = {}
        self._connections: list[Connection] = []
        self._warmed_up: set[str] = set()
        #: "file:line" of each component when the pipeline was loaded from YAML, for error messages.
        self._locations: dict[str, str] = {}

    # ------------------------------------------------------------------ building
    def add_component(self, name: str, instance: Any) -> None:
        check_name(name)
        if name in self._components:
            existing = type(self._components[name]).__name__
            raise PipelineError(f"a component named '{name}' ({existing}) is already in the pipeline")
        if isinstance(instance, type):
            raise PipelineError(f"component '{name}': pass an instance, not the class {instance.__name__}")
        if not is_component(instance):
            raise PipelineError(
                f"component '{name}': {type(instance).__name__} is not a docqa component "
                "(decorate its class with @component)"
            )
        for other, existing in self._components.items():
            if existing is instance:
                raise PipelineError(f"component '{name}': this instance is already in the pipeline as '{other}'")
        self._components[name] = instance

    def add_document_store(self, name: str, store: Any) -> None:
        """Name a document store so that :meth:`dumps` writes it under that name."""
        check_name(name, "document store")
        if name in self._document_stores:
            raise PipelineError(f"a document store named '{name}' is already in the pipeline")
        self._document_stores[name] = store

    @property
    def components(self) -> dict[str, Any]:
        return dict(self._components)

    @property
    def document_stores(self) -> dict[str, Any]:
        return dict(self._document_stores)

    @property
    def connections(self) -> tuple[Connection, ...]:
        return tuple(self._connections)

    def get_component(self, name: str) -> Any:
        try:
            return self._components[name]
        except KeyError:
            known = ", ".join(self._components) or "(none)"
            raise PipelineError(f"no component named '{name}'; the components are: {known}") from None

    # ------------------------------------------------------------------ connecting
    def _split(self, address: Any, role: str) -> tuple[str, str | None]:
        if not isinstance(address, str) or not address:
            raise PipelineError(f"{role} must be 'component' or 'component.socket', not {address!r}")
        name, _, socket = address.partition(".")
        self.get_component(name)
        return name, (socket or None)

    def connect(self, sender: str, receiver: str) -> None:
        """Wire ``"a.out"`` to ``"b.in"``; a bare ``"a"`` or ``"b"`` picks the only compatible socket.

        When several socket pairs are compatible, the pair whose output and input share a name wins if it is
        the only such pair; otherwise the call fails listing the candidates.
        """
        s_name, s_socket = self._split(sender, "sender")
        r_name, r_socket = self._split(receiver, "receiver")
        outputs = self._pick(s_name, s_socket, output_sockets(self._components[s_name]), "output")
        inputs = self._pick(r_name, r_socket, input_sockets(self._components[r_name]), "input")
        if s_socket is not None and r_socket is not None:
            out, inp = outputs[0], inputs[0]
            if not is_compatible(out.type, inp.item_type):
                raise PipelineError(
                    f"cannot connect {s_name}.{out.name} ({type_name(out.type)}) to {r_name}.{inp.name} "
                    f"({type_name(inp.item_type)}): incompatible types"
                )
            self._check_free(s_name, out, r_name, inp)
        else:
            out, inp = self._unique_pair(s_name, outputs, r_name, inputs)
        self._check_acyclic(s_name, r_name, f"{s_name}.{out.name} -> {r_name}.{inp.name}")
        self._connections.append(Connection(s_name, out.name, r_name, inp.name))

    def _pick(self, name: str, socket: str | None, sockets: Mapping[str, Any], kind: str) -> list[Any]:
        if socket is None:
            return list(sockets.values())
        if socket not in sockets:
            cls = type(self._components[name]).__name__
            raise PipelineError(
                f"component '{name}' ({cls}) has no {kind} '{socket}'; its {kind}s are: {_describe(sockets)}"
            )
        return [sockets[socket]]

    def _senders_of(self, name: str, socket: str) -> list[Connection]:
        return [c for c in self._connections if c.receiver == name and c.receiver_socket == socket]

    def _check_free(self, s_name: str, out: OutputSocket, r_name: str, inp: InputSocket) -> None:
        existing = self._senders_of(r_name, inp.name)
        if any(c.sender == s_name and c.sender_socket == out.name for c in existing):
            raise PipelineError(f"{s_name}.{out.name} is already connected to {r_name}.{inp.name}")
        if existing and not inp.is_variadic:
            raise PipelineError(
                f"{r_name}.{inp.name} already receives {existing[0].sender}.{existing[0].sender_socket}; "
                "only Variadic inputs accept several connections"
            )

    def _is_free(self, s_name: str, out: OutputSocket, r_name: str, inp: InputSocket) -> bool:
        try:
            self._check_free(s_name, out, r_name, inp)
        except PipelineError:
            return False
        return True

    def _unique_pair(
        self, s_name: str, outputs: list[OutputSocket], r_name: str, inputs: list[InputSocket]
    ) -> tuple[OutputSocket, InputSocket]:
        pairs = [
            (out, inp)
            for out in outputs
            for inp in inputs
            if is_compatible(out.type, inp.item_type) and self._is_free(s_name, out, r_name, inp)
        ]
        if len(pairs) > 1:
            same_name = [(out, inp) for out, inp in pairs if out.name == inp.name]
            pairs = same_name if len(same_name) == 1 else pairs
        if len(pairs) == 1:
            return pairs[0]
        outs = ", ".join(f"{s_name}.{o.name} ({type_name(o.type)})" for o in outputs) or "(none)"
        ins = ", ".join(f"{r_name}.{i.name} ({type_name(i.item_type)})" for i in inputs) or "(none)"
        if not pairs:
            raise PipelineError(f"no compatible free sockets between outputs [{outs}] and inputs [{ins}]")
        listed = ", ".join(f"{s_name}.{o.name} -> {r_name}.{i.name}" for o, i in pairs)
        raise PipelineError(f"ambiguous connection, name the sockets; candidates: {listed}")

    def _check_acyclic(self, s_name: str, r_name: str, wire: str) -> None:
        path = self._path(r_name, s_name)
        if path is not None:
            raise PipelineError(f"connecting {wire} would create a cycle: {' -> '.join([*path, r_name])}")

    def _path(self, start: str, goal: str) -> list[str] | None:
        """A path of components from ``start`` to ``goal`` along existing connections, if any."""
        stack, seen = [[start]], {start}
        while stack:
            path = stack.pop()
            if path[-1] == goal:
                return path
            for conn in self._connections:
                if conn.sender == path[-1] and conn.receiver not in seen:
                    seen.add(conn.receiver)
                    stack.append([*path, conn.receiver])
        return None

    def upstream_of(self, name: str) -> Pipeline:
        """A pipeline of ``name`` and every component it depends on: the same instances, the same connections.

        Runs the part of a pipeline that feeds one component, e.g. retrieval without a reader that can't load.
        """
        self.get_component(name)
        keep = {name} | {other for other in self._components if self._path(other, name) is not None}
        upstream = Pipeline()
        upstream._components = {n: c for n, c in self._components.items() if n in keep}
        upstream._document_stores = dict(self._document_stores)
        upstream._connections = [c for c in self._connections if c.sender in keep and c.receiver in keep]
        upstream._warmed_up = self._warmed_up & keep
        upstream._locations = {n: where for n, where in self._locations.items() if n in keep}
        return upstream

    # ------------------------------------------------------------------ introspection
    def inputs(self) -> dict[str, dict[str, InputSocket]]:
        """The inputs the caller may provide: every unconnected input of every component."""
        result: dict[str, dict[str, InputSocket]] = {}
        for name, instance in self._components.items():
            free = {s: sock for s, sock in input_sockets(instance).items() if not self._senders_of(name, s)}
            if free:
                result[name] = free
        return result

    def outputs(self) -> dict[str, dict[str, OutputSocket]]:
        """The outputs :meth:`run` returns by default: every output no connection consumes."""
        consumed = {(c.sender, c.sender_socket) for c in self._connections}
        result: dict[str, dict[str, OutputSocket]] = {}
        for name, instance in self._components.items():
            leaf = {s: sock for s, sock in output_sockets(instance).items() if (name, s) not in consumed}
            if leaf:
                result[name] = leaf
        return result

    def _where(self, name: str) -> str:
        location = self._locations.get(name)
        return f"{location}: " if location else ""

    # ------------------------------------------------------------------ running
    def warm_up(self) -> None:
        """Warm up every component now (otherwise each is warmed up before its first run)."""
        for name in self._components:
            self._warm_up(name)

    def _warm_up(self, name: str) -> None:
        if name not in self._warmed_up:
            self._components[name].warm_up()
            self._warmed_up.add(name)

    def topological_order(self) -> list[str]:
        """Component names, each after all its senders; ties keep the order components were added."""
        indegree = {name: 0 for name in self._components}
        for conn in self._connections:
            indegree[conn.receiver] += 1
        order: list[str] = []
        ready = [name for name, degree in indegree.items() if degree == 0]
        while ready:
            name = ready.pop(0)
            order.append(name)
            for conn in self._connections:
                if conn.sender == name:
                    indegree[conn.receiver] -= 1
                    if indegree[conn.receiver] == 0:
                        ready.append(conn.receiver)
        if len(order) != len(self._components):  # unreachable through connect(), which rejects cycles
            raise PipelineError(f"the pipeline has a cycle among: {', '.join(n for n in indegree if n not in order)}")
        return order

    def run(self, data: Mapping[str, Any], include_outputs_from: Collection[str] | None = None) -> dict[str, Any]:
        """Run every component once, in topological order.

        Returns ``{component: {output: value}}`` for every output no connection consumes, plus all outputs of
        the components named in ``include_outputs_from``.
        """
        include = self._check_include(include_outputs_from)
        given = self._route(data)
        self._check_missing(given)
        results: dict[str, dict[str, Any]] = {}
        for name in self.topological_order():
            results[name] = self._run_one(name, self._gather(name, given[name], results))
        return self._select(results, include)

    def run_batch(
        self, data_list: Iterable[Mapping[str, Any]], include_outputs_from: Collection[str] | None = None
    ) -> list[dict[str, Any]]:
        """Run many inputs at once: like ``[run(d) for d in data_list]``, but batched where components allow.

        A component with ``run_batch`` gets one call for all items: parameters annotated ``list[T]`` where run
        has ``T`` get a list over items; the others (``top_k``...) get one shared value, which must then be
        equal for all items, else the component runs item by item. It returns ``{output: list_over_items}``.
        """
        include, items = self._batch_items(data_list, include_outputs_from)
        results: list[dict[str, dict[str, Any]]] = [{} for _ in items]
        for name in self.topological_order() if items else []:
            outputs = self._run_batch_one(name, self._batch_inputs(name, items, results))
            for result, output in zip(results, outputs, strict=True):
                result[name] = output
        return [self._select(result, include) for result in results]

    async def run_batch_async(
        self,
        data_list: Iterable[Mapping[str, Any]],
        include_outputs_from: Collection[str] | None = None,
        *,
        overrides: Mapping[str, AsyncRunBatch] | None = None,
    ) -> list[dict[str, Any]]:
        """:meth:`run_batch` on an event loop, for servers.

        A component named in ``overrides`` runs by awaiting its entry, called as its ``run_batch`` would be (a
        server passes a micro-batcher that gathers the calls of concurrent requests into one model call); every
        other component runs in a worker thread (``asyncio.to_thread``). The event loop is never blocked, and no
        thread waits for an override. Components are warmed up first (in a worker thread) when they are not yet.
        """
        include, items = self._batch_items(data_list, include_outputs_from)
        chosen = self._check_overrides(overrides or {})
        results: list[dict[str, dict[str, Any]]] = [{} for _ in items]
        for name in self.topological_order() if items else []:
            per_item = self._batch_inputs(name, items, results)
            outputs = await self._run_batch_one_async(name, per_item, chosen.get(name))
            for result, output in zip(results, outputs, strict=True):
                result[name] = output
        return [self._select(result, include) for result in results]

    def _batch_items(
        self, data_list: Iterable[Mapping[str, Any]], include_outputs_from: Collection[str] | None
    ) -> tuple[set[str], list[dict[str, dict[str, Any]]]]:
        include = self._check_include(include_outputs_from)
        items = [self._route(data) for data in data_list]
        for given in items:
            self._check_missing(given)
        return include, items

    def _batch_inputs(
        self, name: str, items: list[dict[str, dict[str, Any]]], results: list[dict[str, dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        return [self._gather(name, given[name], result) for given, result in zip(items, results, strict=True)]

    def _check_overrides(self, overrides: Mapping[str, AsyncRunBatch]) -> dict[str, AsyncRunBatch]:
        for name in overrides:
            if not callable(getattr(self.get_component(name), "run_batch", None)):
                raise PipelineError(f"component '{name}' has no run_batch for an override to stand in for")
        return dict(overrides)

    def _check_include(self, include: Collection[str] | None) -> set[str]:
        if include is None:
            return set()
        if isinstance(include, str):
            raise PipelineError("include_outputs_from must be a collection of component names, not a string")
        for name in include:
            self.get_component(name)
        return set(include)

    def _route(self, data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        if not isinstance(data, Mapping):
            raise PipelineError(f"pipeline input must be a dict, not {type(data).__name__}")
        given: dict[str, dict[str, Any]] = {name: {} for name in self._components}
        free = self.inputs()
        nested = {k: v for k, v in data.items() if k in self._components and isinstance(v, Mapping)}
        for key, value in data.items():
            if key in nested:
                continue
            targets = [name for name, sockets in free.items() if key in sockets]
            if not targets:
                available = sorted({s for sockets in free.values() for s in sockets})
                raise PipelineError(
                    f"no component has an unconnected input '{key}'; the pipeline's inputs are: "
                    f"{', '.join(available) or '(none)'}"
                )
            for target in targets:
                given[target][key] = value
        for name, values in nested.items():
            sockets = input_sockets(self._components[name])
            for socket, value in values.items():
                if socket not in sockets:
                    raise PipelineError(
                        f"{self._where(name)}component '{name}' has no input '{socket}'; "
                        f"its inputs are: {_describe(sockets)}"
                    )
                senders = self._senders_of(name, socket)
                if senders and not sockets[socket].is_variadic:
                    raise PipelineError(
                        f"{self._where(name)}input {name}.{socket} is fed by "
                        f"{senders[0].sender}.{senders[0].sender_socket}; it cannot also be given"
                    )
                given[name][socket] = value
        return given

    def _check_missing(self, given: dict[str, dict[str, Any]]) -> None:
        for name, instance in self._components.items():
            missing = [
                f"{name}.{s} ({type_name(sock.type)})"
                for s, sock in input_sockets(instance).items()
                if sock.is_mandatory and s not in given[name] and not self._senders_of(name, s)
            ]
            if missing:
                raise PipelineError(
                    f"{self._where(name)}component '{name}' is missing input {', '.join(missing)}: "
                    "it is neither connected nor provided"
                )

    def _gather(self, name: str, given: dict[str, Any], results: dict[str, dict[str, Any]]) -> dict[str, Any]:
        inputs = dict(given)
        for socket_name, socket in input_sockets(self._components[name]).items():
            senders = self._senders_of(name, socket_name)
            if not senders:
                continue
            values = [results[c.sender][c.sender_socket] for c in senders]
            inputs[socket_name] = [*inputs.get(socket_name, []), *values] if socket.is_variadic else values[0]
        return inputs

    def _run_one(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        self._warm_up(name)
        outputs: dict[str, Any] = self._components[name].run(**inputs)
        self._check_outputs(name, outputs, "run")
        return outputs

    def _check_outputs(self, name: str, outputs: Any, method: str) -> None:
        cls = type(self._components[name]).__name__
        declared = output_sockets(self._components[name])
        prefix = f"{self._where(name)}component '{name}' ({cls}).{method}"
        if not isinstance(outputs, Mapping):
            raise PipelineError(f"{prefix} returned {type(outputs).__name__}, not a dict of its outputs")
        unknown = [key for key in outputs if key not in declared]
        if unknown:
            raise PipelineError(f"{prefix} returned undeclared output(s) {unknown}; declared: {_describe(declared)}")
        missing = [key for key in declared if key not in outputs]
        if missing:
            raise PipelineError(f"{prefix} did not return output(s) {missing}")
        for key, socket in declared.items():
            if not value_matches(outputs[key], socket.type):
                found = type(outputs[key]).__name__
                raise PipelineError(f"{prefix} returned {key}={found}, which is not {type_name(socket.type)}")

    def _run_batch_one(self, name: str, per_item: list[dict[str, Any]]) -> list[dict[str, Any]]:
        instance = self._components[name]
        kwargs = self._batch_arguments(instance, per_item)
        if kwargs is None:
            return [self._run_one(name, inputs) for inputs in per_item]
        self._warm_up(name)
        return self._split_batch(name, instance.run_batch(**kwargs), len(per_item))

    async def _run_batch_one_async(
        self, name: str, per_item: list[dict[str, Any]], override: AsyncRunBatch | None
    ) -> list[dict[str, Any]]:
        if override is None:
            return await asyncio.to_thread(self._run_batch_one, name, per_item)
        if name not in self._warmed_up:
            await asyncio.to_thread(self._warm_up, name)
        kwargs = self._batch_arguments(self._components[name], per_item)
        if kwargs is None:  # the items disagree on a shared input: one call per item, all awaited at once
            calls = [self._run_batch_one_async(name, [inputs], override) for inputs in per_item]
            return [output for outputs in await asyncio.gather(*calls) for output in outputs]
        return self._split_batch(name, await override(**kwargs), len(per_item))

    def _split_batch(self, name: str, batched: Any, count: int) -> list[dict[str, Any]]:
        """``run_batch``'s ``{output: list over items}`` checked and cut into one outputs dict per item."""
        cls = type(self._components[name]).__name__
        prefix = f"{self._where(name)}component '{name}' ({cls}).run_batch"
        if not isinstance(batched, Mapping):
            raise PipelineError(f"{prefix} returned {type(batched).__name__}, not a dict of its outputs")
        for key, values in batched.items():
            if not isinstance(values, list) or len(values) != count:
                raise PipelineError(f"{prefix} must return {key} as a list of {count} items (one per input)")
        outputs = [{key: values[i] for key, values in batched.items()} for i in range(count)]
        for item in outputs:
            self._check_outputs(name, item, "run_batch")
        return outputs

    @staticmethod
    def _batch_arguments(instance: Any, per_item: list[dict[str, Any]]) -> dict[str, Any] | None:
        """``run_batch`` keyword arguments for these items, or None when they must run one by one."""
        if not callable(getattr(instance, "run_batch", None)):
            return None
        kinds = _batch_kinds(cast(Hashable, type(instance)))
        keys = set(per_item[0])
        if any(set(inputs) != keys for inputs in per_item):
            return None
        kwargs: dict[str, Any] = {}
        for key in keys:
            values = [inputs[key] for inputs in per_item]
            if kinds[key]:
                kwargs[key] = values
            elif _all_equal(values):
                kwargs[key] = values[0]
            else:
                return None
        return kwargs

    def _select(self, results: dict[str, dict[str, Any]], include: set[str]) -> dict[str, Any]:
        consumed = {(c.sender, c.sender_socket) for c in self._connections}
        selected: dict[str, Any] = {}
        for name, outputs in results.items():
            chosen = {k: v for k, v in outputs.items() if name in include or (name, k) not in consumed}
            if chosen:
                selected[name] = chosen
        return selected

    # ------------------------------------------------------------------ pictures
    def to_mermaid(self) -> str:
        """The pipeline as a Mermaid flowchart (text; paste it into any Mermaid renderer, nothing is sent anywhere).

        One box per component (name and class), one arrow per connection labelled ``output -> input`` and its
        type; the caller's inputs come from an ``input`` node (solid: mandatory, dotted: optional) and the
        outputs :meth:`run` returns go to an ``output`` node.
        """
        ids = {name: f"c{position}" for position, name in enumerate(self._components)}
        lines = ["flowchart TD"]
        for name, instance in self._components.items():
            lines.append(f'    {ids[name]}["{_mermaid(name)}<br/><i>{_mermaid(type(instance).__name__)}</i>"]')
        for c in self._connections:
            sent = output_sockets(self._components[c.sender])[c.sender_socket]
            label = f"{_mermaid(c.sender_socket)} → {_mermaid(c.receiver_socket)}<br/>{_mermaid(type_name(sent.type))}"
            lines.append(f'    {ids[c.sender]} -- "{label}" --> {ids[c.receiver]}')
        inputs, outputs = self.inputs(), self.outputs()
        if inputs:
            lines.append("    input((input))")
        for name, sockets in inputs.items():
            for socket_name, socket in sockets.items():
                arrow = "--" if socket.is_mandatory else "-."
                tail = "-->" if socket.is_mandatory else ".->"
                label = _mermaid(f"{socket_name}: {type_name(socket.type)}")
                lines.append(f'    input {arrow} "{label}" {tail} {ids[name]}')
        if outputs:
            lines.append("    output((output))")
        for name, out_sockets in outputs.items():
            for socket_name, out_socket in out_sockets.items():
                label = _mermaid(f"{socket_name}: {type_name(out_socket.type)}")
                lines.append(f'    {ids[name]} -- "{label}" --> output')
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ YAML
    def note_location(self, name: str, location: str) -> None:
        """Remember where component ``name`` is defined ("file:line"), for error messages."""
        self.get_component(name)
        self._locations[name] = location

    @classmethod
    def loads(
        cls,
        text: str,
        *,
        base_dir: str | Path | None = None,
        allowed_modules: Collection[str] = (),
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        source: str | None = None,
        open_stores: bool = True,
    ) -> Pipeline:
        """Build a pipeline from YAML text; see :mod:`docqa.core.serialization` for the format and rules.
        ``open_stores=False`` opens none of its document stores (to draw it, not to run it)."""
        pipeline = cls()
        serialization.build(
            pipeline,
            text,
            source=source,
            base_dir=base_dir,
            allowed_modules=allowed_modules,
            overrides=overrides,
            open_stores=open_stores,
        )
        return pipeline

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        allowed_modules: Collection[str] = (),
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        open_stores: bool = True,
    ) -> Pipeline:
        """Build a pipeline from a YAML file; relative ``./`` and ``../`` paths resolve against its folder.
        ``open_stores=False`` opens none of its document stores (to draw it, not to run it)."""
        text, source, base_dir = serialization.read_pipeline_file(path)
        return cls.loads(
            text,
            source=source,
            base_dir=base_dir,
            allowed_modules=allowed_modules,
            overrides=overrides,
            open_stores=open_stores,
        )

    def dumps(self) -> str:
        """This pipeline as YAML that :meth:`loads` turns back into an identical pipeline."""
        return serialization.dumps(self)

    def dump(self, path: str | Path) -> None:
        """Write :meth:`dumps` to ``path`` atomically."""
        serialization.dump(self, path)

    def to_dict(self) -> dict[str, Any]:
        """The pipeline as plain data in the YAML format."""
        return serialization.pipeline_to_dict(self)
