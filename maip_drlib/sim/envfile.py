"""The shell environment file of ``maip-dr sim up --env-file``.

Sourced in bash, it makes the runbook's snippets work verbatim against the simulation: dummy
credentials, the moto endpoint, the generated kubeconfig, the functions ``maip-prod`` and
``maip-prod-dr`` that switch kube context and AWS region, and wrappers for ``aws`` (endpoint
URL, which ``aws rds`` ignores from the environment, and short timeouts), ``kubectl`` (short
request timeout) and ``curl`` (the simulation's CA, and the address the simulated DNS
answer gives for the API name). With the data plane on it also exports the loopback DNS
server's address and port and shows the ``dig`` command that asks it.

How ``curl`` finds the API name: with the data plane on, a real DNS query to the simulation's
DNS server (made with the Python that runs ``sim up``, exported as ``MAIP_SIM_PYTHON``, so
``dig`` is not needed) gives the ALB's planned loopback address (127.100.0.x); the control
server's ``/dns/plan?address=A&format=connect-to`` maps it to ``127.0.0.1:PORT``, where that
ALB's endpoint really listens (the one simulated step: a real ALB listens on the answered
address itself), handed to ``curl --connect-to``. With it off, the control server's
``/dns/resolve`` gives that ``127.0.0.1:PORT`` directly. Not supported: shells other than bash
and zsh, a ``sim up`` whose Python environment has moved since the file was written.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from maip_drlib.config import SIM_ACCESS_KEY_ID, SIM_SECRET_ACCESS_KEY, Topology


@dataclass(frozen=True)
class SimEnvironment:
    """What the env file points at."""

    aws_endpoint_url: str
    kubeconfig: Path
    control_url: str
    ca_bundle: Path
    api_hostname: str
    # "127.0.0.1:PORT" of the simulation's DNS server (data plane on), else None.
    dns_nameserver: str | None = None


def render_env_file(env: SimEnvironment, topology: Topology) -> str:
    q = shlex.quote
    primary, secondary = topology.primary, topology.secondary
    return f"""# MAIP DR suite: environment of a running SIMULATION (loopback, dummy credentials).
# Source it in bash:  source <this file>
export AWS_ACCESS_KEY_ID={q(SIM_ACCESS_KEY_ID)}
export AWS_SECRET_ACCESS_KEY={q(SIM_SECRET_ACCESS_KEY)}
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE
export AWS_ENDPOINT_URL={q(env.aws_endpoint_url)}
export AWS_REGION={q(primary.region)} AWS_DEFAULT_REGION={q(primary.region)}
export AWS_MAX_ATTEMPTS=2 AWS_RETRY_MODE=standard AWS_PAGER=""
export KUBECONFIG={q(str(env.kubeconfig))}
export MAIP_SIM_CONTROL_URL={q(env.control_url)}
export MAIP_SIM_CA_BUNDLE={q(str(env.ca_bundle))}
export NO_PROXY="127.0.0.1,localhost${{NO_PROXY:+,$NO_PROXY}}"
{_dns_lines(env)}
_maip_region() {{
  export AWS_REGION="$1" AWS_DEFAULT_REGION="$1"
  command kubectl config use-context "$2" >/dev/null
}}
{primary.kube_context}() {{ _maip_region {q(primary.region)} {q(primary.kube_context)}; }}
{secondary.kube_context}() {{ _maip_region {q(secondary.region)} {q(secondary.kube_context)}; }}

# aws rds ignores AWS_ENDPOINT_URL (a CLI customization resets it): pass it explicitly.
aws() {{
  command aws --endpoint-url "$AWS_ENDPOINT_URL" --cli-connect-timeout 2 \\
    --cli-read-timeout 10 "$@"
}}
kubectl() {{ command kubectl --request-timeout=5s "$@"; }}
{_connect_to_lines(env)}
curl() {{
  local _maip_to
  _maip_to=$(_maip_api_connect_to) || return 7
  command curl --cacert "$MAIP_SIM_CA_BUNDLE" --max-time 10 \\
    --connect-to "{env.api_hostname}:443:$_maip_to" "$@"
}}
{primary.kube_context}
echo "MAIP simulation environment loaded (region {primary.region}, context \
{primary.kube_context}); this is a simulation." >&2
"""


def _dns_lines(env: SimEnvironment) -> str:
    """The DNS server's exports (empty without the data plane)."""
    if not env.dns_nameserver:
        return ""
    q = shlex.quote
    port = env.dns_nameserver.rsplit(":", 1)[-1]
    return (f"# The simulated hosted zone on a real DNS server (loopback):\n"
            f"#   dig @127.0.0.1 -p {port} {env.api_hostname}\n"
            f"export MAIP_SIM_DNS_SERVER={q(env.dns_nameserver)} MAIP_SIM_DNS_PORT={q(port)}\n"
            f"export MAIP_SIM_PYTHON={q(sys.executable)}\n")


# Asks the DNS server (argument 1, "127.0.0.1:PORT" as sim up writes it) for the API name
# (argument 2) with dnslib, the simulation's own DNS library (the suite's resolver is not the
# simulation's to use): one line on stderr and exit 1 without an address. Sourced in single
# quotes: none inside.
_DNS_QUERY = """import sys
from dnslib import QTYPE, DNSRecord
host, _, port = sys.argv[1].rpartition(":")
try:
    reply = DNSRecord.parse(DNSRecord.question(sys.argv[2]).send(host, int(port), timeout=3))
except OSError as error:
    sys.exit("maip-sim: no DNS answer: " + str(error))
addresses = [str(rr.rdata) for rr in reply.rr if rr.rtype == QTYPE.A]
if not addresses:
    sys.exit("maip-sim: no DNS answer: rcode " + str(reply.header.rcode))
print(addresses[0])"""

_CONNECT_TO_BY_CONTROL = """\
# The API name resolves through the simulated Route 53 answer to a loopback port.
_maip_api_connect_to() {
  command curl -fsS --max-time 5 \\
    "$MAIP_SIM_CONTROL_URL/dns/resolve?name=@NAME@&format=connect-to"
}"""

_CONNECT_TO_BY_DNS = """\
# The API name: a real DNS answer of the simulated DNS server (the ALB's planned loopback
# address), mapped by the control server's address plan to the port that ALB's endpoint
# really listens on (only that mapping is simulated: a real ALB listens on the answer).
_maip_api_connect_to() {
  local _maip_address
  _maip_address=$("$MAIP_SIM_PYTHON" -c '@QUERY@' "$MAIP_SIM_DNS_SERVER" @NAME@) || return 1
  command curl -fsS --max-time 5 \\
    "$MAIP_SIM_CONTROL_URL/dns/plan?address=$_maip_address&format=connect-to"
}"""


def _connect_to_lines(env: SimEnvironment) -> str:
    """``_maip_api_connect_to``: prints the ``127.0.0.1:PORT`` clients of the API name reach
    now (through the DNS server with the data plane on, else the control server's answer)."""
    if not env.dns_nameserver:
        return _CONNECT_TO_BY_CONTROL.replace("@NAME@", env.api_hostname)
    return (_CONNECT_TO_BY_DNS.replace("@QUERY@", _DNS_QUERY)
            .replace("@NAME@", shlex.quote(env.api_hostname)))


def write_env_file(path: Path, env: SimEnvironment, topology: Topology) -> Path:
    path.write_text(render_env_file(env, topology))
    return path
