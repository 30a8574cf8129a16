"""Replication steps (see features/replication.feature)."""

from __future__ import annotations
