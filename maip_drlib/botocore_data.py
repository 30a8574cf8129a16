"""botocore's data files (service models, endpoint data) parsed once per process.

Each botocore session builds its own ``Loader``, whose cache lives and dies with it: every new
session parses again the JSON it needs (``endpoints.json`` is about a megabyte; the EC2 service
model several). The suite makes one session per region handle, and moto (the simulation)
makes more at import time, so a process paid for the same parse many times over.

``shared_loader()`` is one ``Loader`` with botocore's default search paths for the whole
process; ``use_shared_loader(session)`` registers it as a session's ``data_loader``
component (botocore's own extension point). A session configured with its own ``data_path``
keeps its own loader. ``share_with_every_session()`` makes every botocore session created
afterwards in the process use it (the simulation calls it before importing moto, whose module
import creates sessions of its own).

What botocore loads is treated by botocore as read-only once cached (one session already
hands the same cached model to every client of a service); sharing the cache across sessions
keeps that contract. Not supported: data files changed on disk while the process runs.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_loader: Any = None
_patched = False


def shared_loader() -> Any:
    """The process's one botocore ``Loader`` (default search paths)."""
    global _loader
    with _lock:
        if _loader is None:
            from botocore.loaders import create_loader

            _loader = create_loader()
        return _loader


def use_shared_loader(session: Any) -> None:
    """Give the botocore ``session`` the shared loader, unless it names its own data path."""
    if session.get_config_variable("data_path"):
        return
    session.register_component("data_loader", shared_loader())


def share_with_every_session() -> None:
    """Every botocore session created from now on in this process uses the shared loader
    (sessions with their own ``data_path`` excepted). Idempotent."""
    global _patched
    with _lock:
        if _patched:
            return
        import botocore.session
        from botocore.loaders import create_loader

        def _register_data_loader(self: Any) -> None:
            def loader() -> Any:  # lazy: the config store is registered after the loader
                data_path = self.get_config_variable("data_path")
                return create_loader(data_path) if data_path else shared_loader()

            self._components.lazy_register_component("data_loader", loader)

        botocore.session.Session._register_data_loader = _register_data_loader  # type: ignore[method-assign]
        _patched = True
