"""SIMULATED Kafka behind the simulated MSK clusters (part of the opt-in data plane).

``fleet.KafkaFleet``: one broker per region (``broker``, nafka adapted to Python 3.11 in
``nafka_compat``, the only module importing nafka) and the simulated MSK Replicator
(``replicator``, configured from the simulated MSK API by ``replication_spec``). Imported only
when the data plane starts: a simulation without it never loads nafka or kafka-python.
Everything here is simulated and binds only to 127.0.0.1.
"""

from __future__ import annotations
