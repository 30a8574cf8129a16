"""A moto server with IAM enforcement on, in its own process (enforcement is process-wide in
moto), for ``test_approval_enforced.py``.

Creates the drill lease table in us-west-2 and two IAM users, ``maip-dr-operator`` and
``maip-dr-approver``, each with the repository's drill operator policy (as moto checks it:
``tests/iam/enforced_run.simulated_policy``), then switches enforcement on and prints one JSON
line: the endpoint and both users' keys. It serves until its standard input closes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
import requests

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent / "iam")]

from enforced_run import ACCOUNT, policies, simulated_policy  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from maip_drlib.config import Topology  # noqa: E402
from maip_drlib.drill.lease import create_lease_table  # noqa: E402
from maip_drlib.permissions import OPERATOR_POLICY  # noqa: E402

USERS = ("maip-dr-operator", "maip-dr-approver")


def main() -> int:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    admin = {"endpoint_url": endpoint, "aws_access_key_id": "admin",
             "aws_secret_access_key": "admin"}
    topology = Topology()
    create_lease_table(boto3.client("dynamodb", region_name="us-west-2", **admin),
                       topology.lease_table)
    iam = boto3.client("iam", region_name="us-east-1", **admin)
    document = simulated_policy(policies(topology)[OPERATOR_POLICY])
    keys = {}
    for name in USERS:
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-drill-operator",
                            PolicyDocument=document)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        keys[name] = [key["AccessKeyId"], key["SecretAccessKey"]]
    requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=5).raise_for_status()
    print(json.dumps({"endpoint": endpoint, "account": ACCOUNT, "keys": keys}), flush=True)
    sys.stdin.read()  # until the test closes it
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
