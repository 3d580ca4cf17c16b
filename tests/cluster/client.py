"""One client process of a load (tests/cluster/conftest.py): threads send chat completions to URL
with KEY, for SECONDS (0: until standard input closes), and every answer is printed as one JSON
line the moment it arrives.
Usage: python -m tests.cluster.client URL KEY SECONDS THREADS"""

from __future__ import annotations

import json
import sys
import threading
import time

import httpx


def main(url: str, key: str, seconds: float, threads: int) -> None:
    end = time.time() + seconds if seconds > 0 else float("inf")
    stop = threading.Event()
    printing = threading.Lock()
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}

    def stop_when_stdin_closes() -> None:
        sys.stdin.read()
        stop.set()

    def send() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            while not stop.is_set() and (sent := time.time()) < end:
                try:
                    resp = client.post("/v1/chat/completions", json=body)
                    status, rid = resp.status_code, resp.headers.get("x-request-id", "")
                except httpx.HTTPError as exc:
                    status, rid = 0, type(exc).__name__
                answer = {"status": status, "request_id": rid, "sent": sent, "answered": time.time()}
                line = json.dumps(answer)
                with printing:
                    print(line, flush=True)

    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    workers = [threading.Thread(target=send) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
