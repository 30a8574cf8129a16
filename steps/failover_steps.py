"""Failover steps (see features/failover.feature)."""

from __future__ import annotations
