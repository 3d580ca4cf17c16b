"""One client process of a hammering (tests/cluster/conftest.py): threads send chat completions to
URL with KEY for SECONDS, and every answer is printed as JSON at the end.
Usage: python -m tests.cluster.client URL KEY SECONDS THREADS"""

from __future__ import annotations

import json
import sys
import threading
import time

import httpx


def main(url: str, key: str, seconds: float, threads: int) -> None:
    answers: list[dict[str, object]] = []
    end = time.time() + seconds
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}

    def send() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            while (sent := time.time()) < end:
                try:
                    resp = client.post("/v1/chat/completions", json=body)
                    status, rid = resp.status_code, resp.headers.get("x-request-id", "")
                except httpx.HTTPError as exc:
                    status, rid = 0, type(exc).__name__
                answers.append({"status": status, "request_id": rid, "sent": sent, "answered": time.time()})

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
