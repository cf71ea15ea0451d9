"""Limits for the endpoints strangers may call (public RPCs and pages): who the client is, and
budgets per client, counted with the `limits` library (moving windows, in memory per process).

The client is the connection's peer address. An `X-Forwarded-For` (HTTP header or gRPC metadata)
is believed only when the peer is one of `TRUSTED_PROXIES` (addresses or CIDR networks, comma
separated), and then only up to the first address that is not a trusted proxy: anything further
left was written by the client itself and may be forged.

With several replicas each process counts on its own, so a budget of n is n per replica. For a
bound across replicas use `shared_budgets.SharedBudgets` (the same interface, counted by unique
inserts in the service's database: `limits`' MongoDB storage updates counters, which FerretDB v1
loses under concurrency).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Sequence

import limits
import limits.storage
import limits.strategies

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[Network, ...]:
    """'10.0.0.0/8, 127.0.0.1' → networks; raises ValueError naming a bad entry."""
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
    return tuple(networks)


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def peer_host(peer: str) -> str:
    """grpcio's peer ('ipv4:10.1.2.3:5678', 'ipv6:[::1]:5678', 'unix:/x') or a bare address → the
    address without the port."""
    kind, sep, rest = peer.partition(":")
    if not sep:
        return peer
    if kind == "ipv6":
        return rest.rsplit("]", 1)[0].lstrip("[") if rest.startswith("[") else rest
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    return peer if _ip(peer) else rest


def client_address(peer: str, forwarded_for: str = "", trusted: Sequence[Network] = ()) -> str:
    """The address limits count against. `peer` as grpcio or werkzeug gives it; `forwarded_for` the
    X-Forwarded-For value(s), used only when the peer is a trusted proxy."""
    host = peer_host(peer)
    address = _ip(host)
    if address is None or not forwarded_for or not any(address in n for n in trusted):
        return host
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        hop_address = _ip(hop)
        if hop_address is None:
            return host  # a garbled header: count the proxy rather than believe it
        if not any(hop_address in n for n in trusted):
            return str(hop_address)
    return host


def grpc_client(context, trusted: Sequence[Network] = ()) -> str:
    """The client of a gRPC call (see `client_address`)."""
    forwarded = ",".join(v for k, v in context.invocation_metadata() if k == "x-forwarded-for" and isinstance(v, str))
    return client_address(context.peer() or "", forwarded, trusted)


class Budgets:
    """Named moving-window budgets, e.g. `Budgets(per_client="60/minute")`.

    `spend(name, *key)` counts one use and says whether it was within the budget; `left(name, *key)`
    whether a use would be; `retry_after(name, *key)` the seconds until one is free again."""

    def __init__(self, **budgets: str):
        self._items = {name: limits.parse(text) for name, text in budgets.items()}
        self._limiter = limits.strategies.MovingWindowRateLimiter(limits.storage.MemoryStorage())

    def item(self, name: str) -> limits.RateLimitItem:
        return self._items[name]

    def spend(self, name: str, *key: str) -> bool:
        return self._limiter.hit(self._items[name], name, *key)

    def left(self, name: str, *key: str) -> bool:
        return self._limiter.test(self._items[name], name, *key)

    def retry_after(self, name: str, *key: str) -> float:
        stats = self._limiter.get_window_stats(self._items[name], name, *key)
        return max(1.0, math.ceil(stats.reset_time - time.time()))
