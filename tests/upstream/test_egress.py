"""How the upstream client leaves the machine: through a real CONNECT proxy (configured, or from
HTTPS_PROXY with NO_PROXY honoured, with credentials), trusting a private CA, presenting a client
certificate to a server that demands one, within each origin's connect timeout, resolving names
again after their DNS TTL. Real sockets on 127.0.0.1, on asyncio and uvloop."""

from __future__ import annotations

import asyncio
import base64
import ssl
from pathlib import Path

import pytest

from gateway.upstream import ConnectError, Origin, Pool, UpstreamError, UpstreamTimeout
from gateway.upstream.egress import DIRECT, Egress

from .pki import Pki, make_pki
from .proxy import ConnectProxy
from .servers import Peer, Server, keep_alive, response
from .test_pool import fetch


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


def tls_server(pki: Pki, require_client_cert: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(pki.ca)
    return ctx


OK = keep_alive(lambda req: response(200, b"ok:" + req.path.encode()))


def test_https_through_a_connect_proxy_trusting_a_private_ca(run, pki):
    async def main():
        async with Server(OK, ssl=tls_server(pki)) as srv, ConnectProxy() as proxy:
            pool = Pool()
            origin = Origin.from_url(srv.url, egress=Egress(proxy=proxy.url, ca_bundle=str(pki.ca)))
            assert await fetch(pool, origin, path=b"/a") == (200, b"ok:/a")
            assert await fetch(pool, origin, path=b"/b") == (200, b"ok:/b")
            await pool.close()
        # One tunnel, named by the upstream's host (the proxy resolves it), kept alive for both.
        assert [(t.target, t.status) for t in proxy.tunnels] == [(f"localhost:{srv.port}", 200)]
        assert srv.accepted == 1

    run(main)


def test_plain_http_goes_through_the_tunnel_too(run):
    async def main():
        async with Server(OK) as srv, ConnectProxy() as proxy:
            pool = Pool()
            origin = Origin.from_url(srv.url, egress=Egress(proxy=proxy.url))
            assert await fetch(pool, origin, path=b"/plain") == (200, b"ok:/plain")
            await pool.close()
        assert proxy.served(f"127.0.0.1:{srv.port}") == 1

    run(main)


def test_a_private_ca_is_refused_without_its_bundle(run, pki):
    async def main():
        async with Server(OK, ssl=tls_server(pki)) as srv:
            pool = Pool()
            with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await fetch(pool, Origin.from_url(srv.url))
            await pool.close()
        assert srv.requests == []

    run(main)


def test_mutual_tls_presents_the_client_certificate(run, pki):
    seen: list[object] = []

    async def handler(peer: Peer) -> None:
        cert = peer.writer.get_extra_info("peercert")
        seen.append(dict(x[0] for x in cert["subject"])["commonName"])
        await OK(peer)

    async def main():
        async with Server(handler, ssl=tls_server(pki, require_client_cert=True)) as srv:
            pool = Pool()
            mtls = Egress(
                ca_bundle=str(pki.ca), client_cert=str(pki.client_cert), client_key=str(pki.client_key)
            )
            assert await fetch(pool, Origin.from_url(srv.url, egress=mtls), path=b"/m") == (200, b"ok:/m")
            # Without a client certificate the server ends the handshake: no request reaches it.
            with pytest.raises(UpstreamError):
                await fetch(pool, Origin.from_url(srv.url, egress=Egress(ca_bundle=str(pki.ca))))
            await pool.close()
        assert seen == [pki.client_name]
        assert [r.path for r in srv.requests] == ["/m"]

    run(main)


def test_https_proxy_from_the_environment_unless_no_proxy_names_the_host(run, pki, monkeypatch):
    async def main():
        async with Server(OK, ssl=tls_server(pki)) as srv, ConnectProxy() as proxy:
            target = f"localhost:{srv.port}"
            ca = str(pki.ca)
            pool = Pool()
            for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
                monkeypatch.delenv(name, raising=False)
            monkeypatch.setenv("HTTPS_PROXY", proxy.url)
            assert await fetch(pool, Origin.from_url(srv.url, egress=Egress(ca_bundle=ca))) == (200, b"ok:/")
            assert proxy.served(target) == 1
            # `proxy: direct` ignores the environment.
            direct = Egress(ca_bundle=ca, proxy=DIRECT, connect_timeout_s=4.0)
            assert await fetch(pool, Origin.from_url(srv.url, egress=direct)) == (200, b"ok:/")
            monkeypatch.setenv("NO_PROXY", "example.com,localhost")
            bypass = Egress(ca_bundle=ca, connect_timeout_s=3.0)  # another origin key: a new connection
            assert await fetch(pool, Origin.from_url(srv.url, egress=bypass)) == (200, b"ok:/")
            await pool.close()
            assert proxy.served(target) == 1
            assert srv.accepted == 3

    run(main)


def test_proxy_credentials_are_sent_and_never_shown(run, pki):
    expected = "Basic " + base64.b64encode(b"egress:s3cret-pw").decode()

    async def main():
        async with Server(OK, ssl=tls_server(pki)) as srv, ConnectProxy(credentials=expected) as proxy:
            pool = Pool()
            good = Egress(proxy=f"http://egress:s3cret-pw@127.0.0.1:{proxy.port}", ca_bundle=str(pki.ca))
            assert await fetch(pool, Origin.from_url(srv.url, egress=good)) == (200, b"ok:/")
            bad = Egress(proxy=f"http://egress:wrong-pw@127.0.0.1:{proxy.port}", ca_bundle=str(pki.ca))
            with pytest.raises(ConnectError, match="407") as refused:
                await fetch(pool, Origin.from_url(srv.url, egress=bad))
            await pool.close()
        assert "wrong-pw" not in str(refused.value) and "s3cret" not in repr(
            Origin.from_url(srv.url, egress=good)
        )
        assert [t.authorization == expected for t in proxy.tunnels] == [True, False]

    run(main)


def test_each_origin_has_its_own_connect_timeout(run):
    async def main():
        async with Server(OK) as srv, ConnectProxy(hang=True) as stuck:
            pool = Pool(connect_timeout=60)  # the pool's default would outlast the test's guard
            hung = Origin.from_url(srv.url, egress=Egress(proxy=stuck.url, connect_timeout_s=0.2))
            with pytest.raises(UpstreamTimeout, match="connect"):
                await fetch(pool, hung)
            # The same upstream, direct, in the same pool: unaffected.
            assert await fetch(pool, Origin.from_url(srv.url, egress=Egress(proxy=DIRECT))) == (200, b"ok:/")
            await pool.close()

    run(main)


def test_names_are_resolved_again_after_their_dns_ttl():
    async def closing(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(response(200, b"ok", [("Connection", "close")]))

    async def main(ttl: float) -> int:
        loop = asyncio.get_running_loop()
        resolved = 0
        real = loop.getaddrinfo

        async def counting(*args, **kwargs):  # a spy: every call still resolves for real
            nonlocal resolved
            resolved += 1
            return await real(*args, **kwargs)

        loop.getaddrinfo = counting  # type: ignore[method-assign]
        async with Server(closing) as srv:
            pool = Pool()
            origin = Origin.from_url(
                f"http://localhost:{srv.port}", egress=Egress(proxy=DIRECT, dns_ttl_s=ttl)
            )
            for _ in range(3):  # each answer closes its connection: three connections
                assert await fetch(pool, origin) == (200, b"ok")
            await pool.close()
            assert srv.accepted == 3
        return resolved

    assert asyncio.run(main(0.0)) == 3
    assert asyncio.run(main(3600.0)) == 1
