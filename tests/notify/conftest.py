"""The loopback webhook receiver (``webhook_receiver.py``) as a fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from notify.webhook_receiver import Receiver, serve


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serve() as state:
        yield state
