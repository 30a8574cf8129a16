"""What the simulated MAIP platform holds besides its topology: its services, its secrets and
the shape of the drill lease table it comes with.

These are the simulation's own statements about the platform it imitates, not imports of the
suite's defaults: the suite's readiness checks (``readiness_base.DEFAULT_REQUIRED_SECRETS``) and
drill lease (``drill/lease.py``) must find them as they would on AWS, and a test
(tests/sim/test_sim_imports.py) says so when the two drift apart.

Not supported: platforms other than MAIP's (a topology with other names still gets these).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

MAIP_SERVICES = (
    "merchant-api", "payments-gateway", "analytics-ingest", "settlement-worker",
    "fraud-scoring", "notification-service", "reporting-api", "ledger-service",
)
# The Secrets Manager secrets the platform's applications read in both regions.
MAIP_SECRETS = ("maip/prod/db-credentials", "maip/prod/kafka-credentials")
# The drill lease table: one string hash key.
LEASE_TABLE_KEY = "pk"


def create_lease_table(dynamodb: Any, table: str) -> None:
    """The drill lease table (on demand, key ``pk``) through a boto3 DynamoDB client; an
    existing table is kept."""
    try:
        dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": LEASE_TABLE_KEY, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": LEASE_TABLE_KEY, "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
