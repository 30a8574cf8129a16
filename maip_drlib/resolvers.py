"""Pluggable address resolution for the public endpoint.

``SystemResolver`` asks the operating system (``socket.getaddrinfo``). ``SimulationResolver``
asks a running simulation's control server, ``GET {control_url}/dns/resolve?name=<hostname>``,
which answers ``{"name", "address", "port", "region", "alb_dns_name"}``: that is how the
simulated Route 53 decision (failover, weights) reaches a client on loopback.

Not supported: DNS record types other than address lookups, DNSSEC, choosing among several
addresses (the first is used), and a control URL that is not loopback.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import requests

from maip_drlib.errors import ConfigError, NotFound, Unreachable
from maip_drlib.loopback import is_loopback_host


@dataclass(frozen=True)
class ResolvedAddress:
    """Where to connect for a hostname, and how the answer was obtained."""

    host: str
    port: int
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.host}:{self.port}"
        return f"{text} ({self.detail})" if self.detail else text


class Resolver(Protocol):
    def resolve(self, hostname: str, port: int) -> ResolvedAddress: ...


class SystemResolver:
    """The operating system's resolver (first TCP address)."""

    def resolve(self, hostname: str, port: int) -> ResolvedAddress:
        try:
            answers = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise NotFound(f"cannot resolve {hostname}: {error.strerror or error}") from error
        if not answers:
            raise NotFound(f"cannot resolve {hostname}: no address")
        address = answers[0][4]
        return ResolvedAddress(host=str(address[0]), port=int(address[1]), detail="system DNS")


class SimulationResolver:
    """Asks the simulation's loopback control server what ``hostname`` resolves to now."""

    def __init__(self, control_url: str, *, timeout_s: float = 2.0):
        if not is_loopback_host(urlsplit(control_url).hostname):
            raise ConfigError(f"simulation control URL must be loopback, got {control_url!r}",
                              key="control_url")
        self.control_url = control_url.rstrip("/")
        self.timeout_s = timeout_s

    def resolve(self, hostname: str, port: int) -> ResolvedAddress:
        url = f"{self.control_url}/dns/resolve"
        try:
            response = requests.get(url, params={"name": hostname}, timeout=self.timeout_s)
        except requests.RequestException as error:
            raise Unreachable(f"simulation DNS at {url} did not answer: {error}",
                              target="simulation control") from error
        if response.status_code == 404:
            raise NotFound(f"simulated DNS has no answer for {hostname}")
        if response.status_code != 200:
            raise Unreachable(
                f"simulation DNS at {url} answered HTTP {response.status_code} for {hostname}",
                target="simulation control",
            )
        try:
            answer = response.json()
            host, answer_port = str(answer["address"]), int(answer.get("port") or port)
        except (ValueError, KeyError, TypeError) as error:
            raise Unreachable(f"simulation DNS at {url} gave an unreadable answer: {error}",
                              target="simulation control") from error
        detail = "simulated DNS"
        if answer.get("region"):
            detail += f", region {answer['region']}"
        if answer.get("alb_dns_name"):
            detail += f", ALB {answer['alb_dns_name']}"
        return ResolvedAddress(host=host, port=answer_port, detail=detail)
