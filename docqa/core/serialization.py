"""Pipelines as plain YAML: read with a safe loader, written with ``yaml.safe_dump``, exact on round trip.

The format::

    document_stores:
      store: {type: InMemoryDocumentStore, init_parameters: {path: ./store}}
    components:
      retriever: {type: BM25Retriever, init_parameters: {document_store: store, top_k: 10}}
      reader: {type: ExtractiveReader, init_parameters: {model: deepset/minilm-uncased-squad2}}
    connections:
      - {sender: retriever.documents, receiver: reader.documents}

Rules:

* ``type`` is resolved by :mod:`docqa.core.registry` (built-ins, plugins, or a dotted path in
  ``allowed_modules``); YAML tags such as ``!!python/object`` are refused by the safe loader, so loading
  never runs code.
* ``init_parameters`` are the component's ``__init__`` arguments; unknown and missing ones are errors.
  A parameter annotated with a document store type (a class named ``...DocumentStore``), or named
  ``document_store``, holds the *name* of an entry of ``document_stores``.
* A string parameter that starts with ``./`` or ``../`` (or is ``.``/``..``) is a path relative to the YAML
  file's folder (when loaded from a file, or when ``base_dir`` is given); every other string is kept as
  written (``deepset/...`` model ids, absolute paths).
* Document stores are written by their init parameters (e.g. ``path``), not their contents. A store that
  takes ``create`` (the in-memory store) is opened for reading: unless the file says ``create: true`` (as an
  indexing pipeline does), a ``path`` holding no store is an error, ``no document store at PATH``, rather than
  a silently created empty store.
* This module builds into, and writes from, any object with :class:`PipelineGraph`'s methods; it does not
  import :mod:`docqa.core.pipeline` (which imports it for ``Pipeline.load``/``dumps``): one-way dependency.
* Every error is a :class:`~docqa.errors.PipelineError` naming the file, the line and the component.
"""

from __future__ import annotations

import enum
import inspect
import os
import typing
from collections.abc import Collection, Mapping
from pathlib import Path, PurePath
from typing import Any, Protocol

import numpy as np
import yaml

from docqa.core import registry
from docqa.core.component import init_parameters, is_component
from docqa.core.names import check_name
from docqa.errors import ComponentError, NoDocumentStoreError, PipelineError

_TOP_KEYS = ("document_stores", "components", "connections")
_ENTRY_KEYS = ("type", "init_parameters")

Key = tuple[Any, ...]


class Wire(Protocol):
    """One connection, as :class:`docqa.core.pipeline.Connection` has it."""

    @property
    def sender(self) -> str: ...
    @property
    def sender_socket(self) -> str: ...
    @property
    def receiver(self) -> str: ...
    @property
    def receiver_socket(self) -> str: ...


class PipelineGraph(Protocol):
    """What loading and dumping need of a pipeline (:class:`docqa.core.pipeline.Pipeline` has it)."""

    def add_component(self, name: str, instance: Any) -> None: ...
    def add_document_store(self, name: str, store: Any) -> None: ...
    def connect(self, sender: str, receiver: str) -> None: ...
    def note_location(self, name: str, location: str) -> None: ...
    @property
    def components(self) -> dict[str, Any]: ...
    @property
    def document_stores(self) -> dict[str, Any]: ...
    @property
    def connections(self) -> tuple[Wire, ...]: ...


class _Context:
    """Where the text came from and the line of every mapping key / list item, to point errors at them."""

    def __init__(self, source: str | None, lines: dict[Key, int]) -> None:
        self.source = source
        self.lines = lines

    def location(self, key: Key) -> str:
        while key and key not in self.lines:
            key = key[:-1]
        line = self.lines.get(key) if key else None
        if self.source and line:
            return f"{self.source}:{line}"
        return self.source or (f"line {line}" if line else "")

    def error(self, key: Key, message: str) -> PipelineError:
        location = self.location(key)
        return PipelineError(f"{location}: {message}" if location else message)


def _index(node: yaml.Node, key: Key, lines: dict[Key, int], seen: set[int], ctx: _Context) -> None:
    """Record the line of every key and item under ``node``; refuse duplicate keys (YAML keeps the last)."""
    if id(node) in seen:  # an alias: walk each node once, so alias bombs cost nothing
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            line = key_node.start_mark.line + 1
            path = (*key, name)
            if name in first:
                ctx.lines[path] = line
                raise ctx.error(path, f"duplicate key '{name}' (first defined at line {first[name]})")
            first[name] = line
            lines[path] = line
            _index(value_node, path, lines, seen, ctx)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            item_path = (*key, position)
            lines[item_path] = item.start_mark.line + 1
            _index(item, item_path, lines, seen, ctx)


def parse_yaml(text: str, source: str | None = None) -> tuple[Any, _Context]:
    """Safely parse ``text``; return the data and a context that knows the line of every key."""
    ctx = _Context(source, {})
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, ctx
        _index(node, (), ctx.lines, set(), ctx)
        return loader.construct_document(node), ctx
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{source or '<string>'}:{mark.line + 1}" if mark is not None else source or "<string>"
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise PipelineError(f"{where}: invalid YAML: {problem}") from None
    finally:
        loader.dispose()


# ---------------------------------------------------------------------------------------------- loading
def _mapping(value: Any, ctx: _Context, key: Key, what: str) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ctx.error(key, f"{what} must be a mapping, not {type(value).__name__}")
    return value


def _store_parameters(cls: type) -> set[str]:
    """The ``__init__`` parameters of ``cls`` that hold a document store: by annotation, or named so."""
    init = inspect.unwrap(cls.__init__)  # type: ignore[misc]
    try:
        hints = {k: repr(v) for k, v in typing.get_type_hints(init).items()}
    except Exception:  # annotations naming TYPE_CHECKING-only imports: fall back to their text
        hints = {k: str(v) for k, v in getattr(init, "__annotations__", {}).items()}
    by_type = {name for name, text in hints.items() if name != "return" and "DocumentStore" in text}
    return by_type | ({"document_store"} & set(inspect.signature(init).parameters))


def _relative(value: Any, base_dir: Path | None) -> Any:
    if base_dir is None or not isinstance(value, str):
        return value
    if value in (".", "..") or value.startswith(("./", "../")):
        return os.path.normpath(base_dir / value)
    return value


def _check_parameters(cls: type, params: Mapping[str, Any], ctx: _Context, key: Key, label: str) -> None:
    signature = inspect.signature(cls)  # the __init__ parameters, without self
    accepted = list(signature.parameters)
    for name in params:
        if name not in accepted:
            valid = ", ".join(accepted) or "(none)"
            raise ctx.error(
                (*key, "init_parameters", name),
                f"{label}: unknown parameter '{name}' for {cls.__name__}; valid parameters: {valid}",
            )
    for name in accepted:
        if signature.parameters[name].default is inspect.Parameter.empty and name not in params:
            raise ctx.error(key, f"{label}: missing required parameter '{name}' of {cls.__name__}")


class _Loader:
    def __init__(
        self,
        ctx: _Context,
        base_dir: Path | None,
        allowed_modules: Collection[str],
        overrides: Mapping[str, Mapping[str, Any]],
        pipeline: PipelineGraph,
        open_stores: bool = True,
    ) -> None:
        self.ctx = ctx
        self.base_dir = base_dir
        self.allowed_modules = allowed_modules
        self.overrides = dict(overrides)
        self.pipeline = pipeline
        self.open_stores = open_stores

    def build(self, data: Any) -> PipelineGraph:
        if not isinstance(data, Mapping):
            raise self.ctx.error((), f"a pipeline file must be a mapping with keys {', '.join(_TOP_KEYS)}")
        for key in data:
            if key not in _TOP_KEYS:
                raise self.ctx.error((key,), f"unknown top-level key '{key}'; valid keys: {', '.join(_TOP_KEYS)}")
        stores = _mapping(data.get("document_stores"), self.ctx, ("document_stores",), "document_stores")
        components = _mapping(data.get("components"), self.ctx, ("components",), "components")
        unknown = [name for name in self.overrides if name not in components and name not in stores]
        if unknown:
            raise PipelineError(
                f"overrides name unknown component(s) {unknown}; the components are: {list(components)}"
            )
        for name, spec in stores.items():
            store = self._instance("document_stores", name, spec) if self.open_stores else _unopened_store()
            self.pipeline.add_document_store(name, store)
        for name, spec in components.items():
            instance = self._instance("components", name, spec)
            self.pipeline.add_component(name, instance)
            self.pipeline.note_location(name, self.ctx.location(("components", name)))
        self._connect(data.get("connections"))
        return self.pipeline

    def _instance(self, section: str, name: Any, spec: Any) -> Any:
        key: Key = (section, name)
        kind: registry.Kind = "component" if section == "components" else "document store"
        label = f"{kind} '{name}'"
        try:
            check_name(name, kind)
        except PipelineError as err:
            raise self.ctx.error(key, str(err)) from None
        spec = _mapping(spec, self.ctx, key, label)
        for entry_key in spec:
            if entry_key not in _ENTRY_KEYS:
                raise self.ctx.error(
                    (*key, entry_key),
                    f"{label}: unknown key '{entry_key}'; valid keys: type, init_parameters",
                )
        if "type" not in spec:
            raise self.ctx.error(key, f"{label}: missing 'type'")
        try:
            cls = registry.resolve_type(spec["type"], kind, self.allowed_modules)
        except PipelineError as err:
            raise self.ctx.error((*key, "type"), f"{label}: {err}") from None
        raw = _mapping(spec.get("init_parameters"), self.ctx, (*key, "init_parameters"), f"{label} init_parameters")
        params = {k: _relative(v, self.base_dir) for k, v in raw.items()}
        params.update(self.overrides.get(name, {}))
        _check_parameters(cls, params, self.ctx, key, label)
        if kind == "document store" and "create" in inspect.signature(cls).parameters:
            params.setdefault("create", False)  # a pipeline file opens its stores for reading
        for param in _store_parameters(cls) & set(params):
            params[param] = self._store(params[param], (*key, "init_parameters", param), label, param)
        try:
            return cls(**params)
        except NoDocumentStoreError as err:  # "no document store at PATH" first, then where the file says so
            where = self.ctx.location(key)
            raise NoDocumentStoreError(f"{err} ({label}{', ' + where if where else ''})") from None
        except Exception as err:
            raise self.ctx.error(key, f"{label} ({cls.__name__}) could not be created: {err}") from err

    def _store(self, reference: Any, key: Key, label: str, param: str) -> Any:
        if reference is None or _is_store(reference):
            return reference
        if not isinstance(reference, str):
            raise self.ctx.error(key, f"{label}: parameter '{param}' must name a document store, not {reference!r}")
        stores = self.pipeline.document_stores
        if reference not in stores:
            known = ", ".join(stores) or "(none declared under document_stores)"
            raise self.ctx.error(
                key,
                f"{label}: parameter '{param}' names document store '{reference}'; the stores are: {known}",
            )
        return stores[reference]

    def _connect(self, connections: Any) -> None:
        if connections is None:
            return
        if not isinstance(connections, list):
            raise self.ctx.error(("connections",), "connections must be a list of {sender, receiver} mappings")
        for position, item in enumerate(connections):
            key: Key = ("connections", position)
            if not isinstance(item, Mapping) or set(item) != {"sender", "receiver"}:
                raise self.ctx.error(key, f"connection {item!r} must be a mapping with exactly sender and receiver")
            try:
                self.pipeline.connect(item["sender"], item["receiver"])
            except PipelineError as err:
                raise self.ctx.error(key, f"connection {item['sender']} -> {item['receiver']}: {err}") from None


def _unopened_store() -> Any:
    """What stands for a document store that is not opened: an empty in-memory store (resolved by name, so that
    core imports no store), which every retriever accepts and which reads and writes nothing."""
    return registry.resolve_type("InMemoryDocumentStore", "document store")()


def build(
    pipeline: PipelineGraph,
    text: str,
    *,
    source: str | None = None,
    base_dir: str | Path | None = None,
    allowed_modules: Collection[str] = (),
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    open_stores: bool = True,
) -> None:
    """Add what the YAML ``text`` describes to the empty ``pipeline`` (format and rules in the module docs).

    ``overrides`` replaces init parameters after reading, e.g. ``{"reader": {"model": "/models/tiny"}}``.
    ``open_stores=False`` opens none of the file's document stores (each becomes an empty in-memory stand-in):
    enough to draw or inspect the pipeline, not to run it. Use :meth:`docqa.core.pipeline.Pipeline.loads`, which
    calls this.
    """
    data, ctx = parse_yaml(text, source)
    base = Path(base_dir) if base_dir is not None else None
    _Loader(ctx, base, allowed_modules, overrides or {}, pipeline, open_stores).build(data)


def read_pipeline_file(path: str | Path) -> tuple[str, str, Path]:
    """The text of a pipeline file, its name for messages, and the folder its ``./`` paths resolve against."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PipelineError(f"{path}: cannot read pipeline file: {err}") from None
    return text, str(path), path.resolve().parent


# ---------------------------------------------------------------------------------------------- dumping
def _is_store(value: Any) -> bool:
    if value is None or isinstance(value, type) or is_component(value):
        return False
    try:
        init_parameters(value)
    except ComponentError:
        return False
    return True


def to_plain(value: Any, where: str) -> Any:
    """``value`` as plain YAML data: tuples/sets -> lists, paths -> str, enums and numpy scalars -> values."""
    if value is None or (isinstance(value, (bool, int, float, str)) and not isinstance(value, enum.Enum)):
        return _python_scalar(value)
    if isinstance(value, enum.Enum):
        return to_plain(value.value, where)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {to_plain(k, where): to_plain(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item, where) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_plain(item, where) for item in value), key=repr)
    raise PipelineError(f"{where} holds a {type(value).__name__}, which cannot be written to YAML")


def _python_scalar(value: Any) -> Any:
    # bool/int/float/str subclasses (e.g. numpy.float64) become the plain type that safe_dump knows.
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def _store_names(pipeline: PipelineGraph) -> dict[int, str]:
    names = {id(store): name for name, store in pipeline.document_stores.items()}
    taken = set(pipeline.document_stores)
    for instance in pipeline.components.values():
        for value in init_parameters(instance).values():
            if _is_store(value) and id(value) not in names:
                name, suffix = "document_store", 1
                while name in taken:
                    suffix += 1
                    name = f"document_store_{suffix}"
                names[id(value)] = name
                taken.add(name)
    return names


def pipeline_to_dict(pipeline: PipelineGraph) -> dict[str, Any]:
    """The pipeline as plain data in the YAML format (a store shared by components is written once)."""
    names = _store_names(pipeline)
    stores = {id(s): s for s in pipeline.document_stores.values()}
    for instance in pipeline.components.values():
        stores.update({id(v): v for v in init_parameters(instance).values() if _is_store(v)})
    data: dict[str, Any] = {}
    if stores:
        data["document_stores"] = {
            names[key]: _entry(store, f"document store '{names[key]}'", names) for key, store in stores.items()
        }
    data["components"] = {
        name: _entry(instance, f"component '{name}'", names) for name, instance in pipeline.components.items()
    }
    if pipeline.connections:
        data["connections"] = [
            {"sender": f"{c.sender}.{c.sender_socket}", "receiver": f"{c.receiver}.{c.receiver_socket}"}
            for c in pipeline.connections
        ]
    return data


def _entry(instance: Any, label: str, store_names: dict[int, str]) -> dict[str, Any]:
    try:
        type_name = registry.type_name(type(instance))
    except PipelineError as err:
        raise PipelineError(f"{label}: {err}") from None
    params = {}
    for key, value in init_parameters(instance).items():
        if _is_store(value):
            params[key] = store_names[id(value)]
        else:
            params[key] = to_plain(value, f"{label} init parameter '{key}'")
    return {"type": type_name, "init_parameters": params}


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # plain YAML: repeated values are written out, not aliased
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Multi-line strings in the default style spread over several lines; "\n" is what a reader expects.
    style = '"' if any(c in value for c in "\n\r\t") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dumps(pipeline: PipelineGraph) -> str:
    return yaml.dump(pipeline_to_dict(pipeline), Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def dump(pipeline: PipelineGraph, path: str | Path) -> None:
    """Write the pipeline to ``path`` atomically (a failed write leaves any previous file intact)."""
    text = dumps(pipeline)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise PipelineError(f"{path}: cannot write pipeline file: {err}") from err
