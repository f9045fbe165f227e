"""Which client a request comes from when a reverse proxy stands in front (README "Production
set-up"): werkzeug's ``ProxyFix``, applied only to requests whose peer is a trusted proxy.

Without it every request seems to come from the proxy, and the per-address limits — the
public feedback's, the sign-in throttle's — would count the whole city as one client.
``IRPM_FORWARDED_ALLOW_IPS`` (the variable gunicorn's ``forwarded_allow_ips`` reads too,
docker/gunicorn.conf.py) says whom to believe:

* addresses or networks, comma-separated (``127.0.0.1``, ``10.0.0.0/8, ::1``; the default
  is ``127.0.0.1``): a request whose peer is one of them is a proxy's; its
  ``X-Forwarded-For`` is read from the right, skipping the trusted proxies, and the first
  other address is the client. A request from any other peer keeps its peer address, and
  its ``X-Forwarded-*`` headers are ignored — anyone can write them.
* a number N: N proxies stand in front and nothing reaches the app except through them, so
  the N-th address from the right of ``X-Forwarded-For`` is the client, whoever the peer.
  ``*`` is the same as ``1``. ``0`` or ``none``: no proxy; forwarded headers are ignored.

A trusted proxy's ``X-Forwarded-Proto`` (its last value) also sets the scheme (``https``
behind a TLS-terminating proxy). ``X-Forwarded-Host`` is never believed: the proxy passes
the ``Host`` header on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The most proxies a request may pass through (a longer forwarded chain is cut).
MAX_HOPS = 10


@dataclass(frozen=True)
class Trust:
    """Parsed ``IRPM_FORWARDED_ALLOW_IPS``: a fixed number of hops, or trusted networks."""

    hops: int = 0
    networks: tuple[Network, ...] = ()

    def trusts(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address((address or "").strip())
        except ValueError:
            return False
        return any(ip in network for network in self.networks)


def parse_trust(text: str) -> Trust:
    """``IRPM_FORWARDED_ALLOW_IPS`` as a ``Trust``; ``ValueError`` names a bad entry."""
    text = text.strip()
    if text.lower() in ("", "none"):
        return Trust()
    if text == "*":
        return Trust(hops=1)
    if text.isdigit():
        hops = int(text)
        if hops > MAX_HOPS:
            raise ValueError(f"IRPM_FORWARDED_ALLOW_IPS: at most {MAX_HOPS} proxies")
        return Trust(hops=hops)
    networks = []
    for entry in (e.strip() for e in text.split(",")):
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"IRPM_FORWARDED_ALLOW_IPS: {entry!r} is not an address or "
                                 "a network") from None
    return Trust(networks=tuple(networks))


class TrustedProxies:
    """WSGI middleware: ``ProxyFix`` for the requests a trusted proxy forwards."""

    def __init__(self, app: WSGIApplication, trust: Trust) -> None:
        self.app, self.trust = app, trust
        hops = range(1, (trust.hops or MAX_HOPS) + 1)
        self._fixes = {n: ProxyFix(app, x_for=n, x_proto=1, x_host=0, x_port=0, x_prefix=0)
                       for n in hops}

    def hops(self, environ: WSGIEnvironment) -> int:
        """How many proxies of this request to believe (0: none): the trusted peer, and
        each trusted proxy it names as its client, right to left."""
        if self.trust.hops:
            return self.trust.hops
        if not self.trust.trusts(environ.get("REMOTE_ADDR")):
            return 0
        chain = _forwarded_for(environ)
        hops = 1
        while hops < min(len(chain), MAX_HOPS) and self.trust.trusts(chain[-hops]):
            hops += 1
        return hops

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        hops = self.hops(environ)
        if hops <= 0:
            return self.app(environ, start_response)
        return self._fixes[hops](environ, start_response)


def _forwarded_for(environ: WSGIEnvironment) -> list[str]:
    value: Any = environ.get("HTTP_X_FORWARDED_FOR") or ""
    return [part.strip() for part in str(value).split(",") if part.strip()]


def install(app: Any, setting: str) -> Trust:
    """Wrap ``app.wsgi_app`` as ``setting`` says (nothing to wrap when nobody is trusted)."""
    trust = parse_trust(setting)
    if trust.hops or trust.networks:
        app.wsgi_app = TrustedProxies(app.wsgi_app, trust)
    return trust
