"""The embedded MAIP simulation: moto, two fake Kubernetes API servers and the endpoints.

Everything here is simulated and says so; it binds only to 127.0.0.1. Import this package
only when simulating: it pulls in the ``sim`` extra (moto, werkzeug, trustme).
"""

from __future__ import annotations
