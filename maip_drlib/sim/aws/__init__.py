"""The AWS side of the embedded MAIP simulation (DESIGN.md section 6).

moto 5.2.5 in server mode on 127.0.0.1 (``server.MotoServer``) behind a fault middleware
(``middleware``), moto's gaps filled by named patches (``patches``), the MAIP topology seeded
in both regions (``seed.seed_topology``), CloudWatch metrics from the faults
(``metrics.MetricPublisher``) and the simulated DNS answer (``dns_answer.answer_for``).

moto's state is process-global: one simulation per process. Importing this package does not
import moto; the modules that need it import it when used.
"""

from __future__ import annotations
