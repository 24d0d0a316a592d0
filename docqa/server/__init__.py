"""``docqa serve``: a REST API over a store and its models, with micro-batching, back-pressure, limits, API keys
and a write-ahead log (see :func:`create_app`)."""

from docqa.server.app import create_app
from docqa.server.config import Batching, ServerConfig
from docqa.server.limits import Limits

__all__ = ["Batching", "Limits", "ServerConfig", "create_app"]
