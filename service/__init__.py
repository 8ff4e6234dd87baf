"""sectag's HTTP service. `create_app(config)` builds it; nothing is created at import."""

from .app import create_app

__all__ = ["create_app"]
