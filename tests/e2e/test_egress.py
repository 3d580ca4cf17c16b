"""A provider reached the corporate way: through a CONNECT proxy, over TLS signed by a private CA,
presenting a client certificate the provider demands. A real gateway, the official OpenAI SDK,
the mock provider serving HTTPS with mutual TLS, a real proxy."""

from __future__ import annotations

from pathlib import Path

import openai

from tests.upstream.pki import make_pki
from tests.upstream.proxy import ConnectProxy

from .conftest import Gateway, start_upstream_mock, stop_upstream_mock


def test_a_provider_behind_a_proxy_with_a_private_ca_and_mutual_tls(tmp_path: Path):
    pki = make_pki(tmp_path)
    mock, upstream = start_upstream_mock(
        "--key", "k=sk-egress",
        "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key), "--client-ca", str(pki.ca),
    )  # fmt: skip
    assert upstream.startswith("https://localhost:")
    with ConnectProxy().threaded() as proxy:
        # Relative paths: the certificate files sit beside the config.
        gw = Gateway(
            tmp_path,
            f"""
  - name: corp
    type: openai
    base_url: {upstream}/v1
    proxy: {proxy.url}
    ca_bundle: {pki.ca.name}
    client_cert: {pki.client_cert.name}
    client_key: {pki.client_key.name}
    connect_timeout_s: 5
    dns_ttl_s: 30
    keys: [{{id: k, value: sk-egress}}]
model_groups:
  - name: chat
    deployments: [{{provider: corp, model: gpt-4o-mini}}]
tenants:
  - name: default
    apps: [{{name: demo}}]
""",
            workers=1,
        )
        key = gw.new_key()
        gw.start()
        try:
            client = openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0)
            answer = client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "through the proxy"}]
            )
            assert answer.choices[0].message.content
            stream = client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "and a stream"}], stream=True
            )
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        finally:
            assert gw.stop() == 0
            stop_upstream_mock(mock)
    port = upstream.rsplit(":", 1)[1]
    # Every connection to the provider went through the proxy's tunnels.
    assert proxy.served(f"localhost:{port}") >= 1
    assert {t.target for t in proxy.tunnels} == {f"localhost:{port}"}
