"""Private PostgreSQL and Redis servers for the cluster bench and the tests: each on a free port of
the loopback address, with its data in a temporary directory, nothing durable (fsync off, no
snapshots), stopped and removed at the end. Either can be stopped and started again on the same
port and data (an outage).

PostgreSQL refuses to run as root, so as root its cluster belongs to the `postgres` user (made by
Debian's package); as anyone else, to that user.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from .procs import free_port, pinned

SUPERUSER = "aigw"


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL's server programs are not installed (Debian: apt-get install postgresql)")


class PostgresServer:
    def __init__(self, cores: str | None = None) -> None:
        self.cores = cores  # taskset's CPU list for the server's processes (None: anywhere)
        self.bindir = _bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="aigw-pg-"))
        self.port = free_port()
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            self._as = {"user": "postgres", "group": "postgres"}
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"

    def _run(self, *args: str) -> None:
        subprocess.run(pinned(args, self.cores), check=True, capture_output=True, cwd=self.dir, **self._as)

    def start(self) -> PostgresServer:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        return self.resume()

    def resume(self) -> PostgresServer:
        """Start the server (again) on its data and port."""
        # Durability is not under test here: no fsync. The unix socket lives in our directory.
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        log = str(self.dir / "server.log")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", log, "-o", options, "-w", "start")
        return self

    def halt(self) -> None:
        """Stop the server, keeping its data (an outage): `resume()` brings it back."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; returns its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        asyncio.run(self._admin(f'CREATE DATABASE "{name}"'))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()


class RedisServer:
    def __init__(self, cores: str | None = None) -> None:
        self.cores = cores
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
        self.binary = binary
        self.dir = Path(tempfile.mkdtemp(prefix="aigw-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 30) -> RedisServer:
        args = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            pinned(args, self.cores), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {(self.dir / 'redis.log').read_text()}")
            time.sleep(0.02)  # polling a server that is starting

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
