"""nginx in two roles, each with a generated config in the run's directory:

- the fast upstream: answers every chat completion with one fixed JSON body from memory (or,
  for `exhaustion`, a 429 to the requests of some provider keys);
- the reference reverse proxy: what aigw is compared with, on the same core, same upstream
  (for `stream`, relaying each SSE event as it arrives).

Both run one worker (the upstream of `scale` one per load core), in the foreground
(`daemon off`), logging errors only into the run dir.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from .install import ensure_command
from .payloads import CHAT_HEADERS, CHAT_PATH, CHAT_RESPONSE, rate_limited
from .procs import Child, Processes, StartError, pinned, wait_for_port

_COMMON = """\
worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_rlimit_nofile 65536;
events {{ worker_connections 16384; multi_accept on; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    server_tokens off;
{body}
}}
"""


def nginx_string(text: str) -> str:
    """`text` as a single-quoted nginx config string; `$` would be read as a variable."""
    if "$" in text:
        raise ValueError("nginx would expand '$' in a returned body")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _add_headers(headers: Sequence[tuple[str, str]]) -> str:
    return "".join(f"            add_header {name} {nginx_string(value)};\n" for name, value in headers)


def upstream_config(
    directory: Path,
    port: int,
    body: str = CHAT_RESPONSE,
    path: str = CHAT_PATH,
    headers: Sequence[tuple[str, str]] = CHAT_HEADERS,
    workers: int = 1,
) -> str:
    """The fast upstream: `body` with the provider's usual `headers` to every POST of `path`,
    from `workers` processes (one per load core when the load side has several)."""
    server = f"""\
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = {path} {{
            default_type application/json;
{_add_headers(headers)}            return 200 {nginx_string(body)};
        }}
        location / {{ return 404; }}
    }}"""
    return _COMMON.format(dir=directory, body=server, workers=workers)


def rate_limiting_upstream_config(
    directory: Path, port: int, exhausted_keys: Sequence[str], reset_ms: int
) -> str:
    """The fast upstream, except that requests with one of `exhausted_keys` get OpenAI's 429
    (rate-limit headers saying the request limit resets in `reset_ms`)."""
    keys = "\n".join(f"        {nginx_string('Bearer ' + k)} 1;" for k in exhausted_keys)
    limited = f"""\
                add_header x-ratelimit-limit-requests 500 always;
                add_header x-ratelimit-remaining-requests 0 always;
                add_header x-ratelimit-reset-requests {reset_ms}ms always;
                add_header retry-after-ms {reset_ms} always;
                return 429 {nginx_string(rate_limited(reset_ms))};"""
    server = f"""\
    map $http_authorization $exhausted {{
        default 0;
{keys}
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = {CHAT_PATH} {{
            default_type application/json;
            if ($exhausted) {{
{limited}
            }}
{_add_headers(CHAT_HEADERS)}            return 200 {nginx_string(CHAT_RESPONSE)};
        }}
        location / {{ return 404; }}
    }}"""
    return _COMMON.format(dir=directory, body=server, workers=1)


# What a streaming reverse proxy needs on top: every chunk passed on as it arrives (no
# buffering, no cache, no compression that would hold bytes back), and no read timeout cutting
# a long stream short.
_STREAMING = """
            proxy_buffering off;
            proxy_cache off;
            gzip off;
            proxy_read_timeout 300s;"""


def proxy_config(
    directory: Path, port: int, upstream_port: int, upstream_keepalive: int = 1024, streaming: bool = False
) -> str:
    """nginx as a reverse proxy: HTTP/1.1 to the upstream on kept-alive connections; with
    `streaming`, every chunk of an answer (an SSE event) relayed as soon as it arrives."""
    server = f"""\
    upstream backend {{
        server 127.0.0.1:{upstream_port};
        keepalive {upstream_keepalive};
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";{_STREAMING if streaming else ""}
        }}
    }}"""
    return _COMMON.format(dir=directory, body=server, workers=1)


def version(nginx: str) -> str:
    out = subprocess.run([nginx, "-v"], capture_output=True, text=True)
    return (out.stderr or out.stdout).strip().removeprefix("nginx version: ")


def start(procs: Processes, name: str, directory: Path, config: str, port: int, cores: str | None) -> Child:
    """Start nginx on `config` (made for `directory`, its prefix); returns once `port` accepts."""
    nginx = ensure_command("nginx", "nginx", "the fast upstream and the reference proxy")
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(config)
    argv = [nginx, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")]
    child = procs.start(name, pinned(argv, cores))
    if not wait_for_port(port, 30, child.alive):
        raise StartError(f"{name} (nginx) did not listen on {port}{child.tail()}; see {directory}/error.log")
    return child
