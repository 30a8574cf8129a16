"""MAIP disaster-recovery library: probes, actions, waits and the embedded simulation."""

from __future__ import annotations

__version__ = "0.1.0"
