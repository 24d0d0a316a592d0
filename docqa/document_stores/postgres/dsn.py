"""PostgreSQL connection strings: ``env:VAR`` references, and DSNs with the password taken out for display."""

from __future__ import annotations

import os
from collections.abc import Mapping

from docqa.errors import DocumentStoreError

ENV_PREFIX = "env:"
DEFAULT_ENV = "DOCQA_PG_DSN"


def is_postgres_spec(spec: str) -> bool:
    """Whether ``spec`` names a PostgreSQL database (a ``postgresql://`` / ``postgres://`` URL or ``env:VAR``)."""
    return spec.startswith(("postgresql://", "postgres://", ENV_PREFIX))


def resolve_dsn(dsn: str, environ: Mapping[str, str] | None = None) -> str:
    """The connection string itself: ``env:VAR`` reads the variable ``VAR``; anything else is returned as is.

    >>> resolve_dsn("env:PGURL", {"PGURL": "postgresql://u@localhost/db"})
    'postgresql://u@localhost/db'
    """
    if not isinstance(dsn, str) or not dsn.strip():
        raise DocumentStoreError("PostgresDocumentStore: dsn must be a non-empty string (or env:VARIABLE)")
    if not dsn.startswith(ENV_PREFIX):
        return dsn
    name = dsn[len(ENV_PREFIX) :]
    value = (os.environ if environ is None else environ).get(name)
    if not value:
        raise DocumentStoreError(f"PostgresDocumentStore: environment variable {name} (from dsn {dsn!r}) is not set")
    return value


def redact_dsn(dsn: str) -> str:
    """``dsn`` safe to print or save: an ``env:`` reference as is, otherwise without its password.

    >>> redact_dsn("postgresql://alice:s3cret@db.example.com:5432/docs")
    'postgresql://alice@db.example.com:5432/docs'
    >>> redact_dsn("env:DOCQA_PG_DSN")
    'env:DOCQA_PG_DSN'
    """
    if dsn.startswith(ENV_PREFIX):
        return dsn
    from psycopg import conninfo  # here, so that recognizing a DSN needs no psycopg

    try:
        parts = conninfo.conninfo_to_dict(dsn)
    except Exception:  # psycopg.ProgrammingError on a malformed string: never echo it
        return "<unparsable dsn>"
    if "password" not in parts:
        return dsn
    parts.pop("password")
    if dsn.startswith(("postgresql://", "postgres://")):
        return _as_url(parts)
    return conninfo.make_conninfo(**{k: str(v) for k, v in parts.items() if v is not None})


def _as_url(parts: dict[str, str | int | None]) -> str:
    user = f"{parts.pop('user')}@" if parts.get("user") else ""
    host = str(parts.pop("host", "") or "")
    port = f":{parts.pop('port')}" if parts.get("port") else ""
    name = str(parts.pop("dbname", "") or "")
    rest = "&".join(f"{key}={value}" for key, value in parts.items() if value is not None)
    netloc = host if "/" not in host else ""
    if "/" in host:
        rest = "&".join(filter(None, [f"host={host}", rest]))
    return f"postgresql://{user}{netloc}{port}/{name}" + (f"?{rest}" if rest else "")
