"""Failback steps (see features/failback.feature)."""

from __future__ import annotations
