"""Per-key rate limits, answered with OpenAI's headers and 429 bodies.

Each key has a window of `window_s` (a minute unless tests scale it down) anchored at its first
request, holding `rpm` requests and `tpm` tokens.
"""

from __future__ import annotations

from collections import deque

from ..durations import go_duration
from .errors import error_body

_ORG = "org-mock"
_RL_URL = "Visit https://platform.openai.com/account/rate-limits to learn more."
# Windows per key kept for /_mock/stats.
HISTORY_WINDOWS = 1000

# A refusal: (status, body, seconds until the request would fit; 0 when it never will).
Refusal = tuple[int, bytes, float]


class RateLimits:
    def __init__(self, rpm: int, tpm: int, window_s: float) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self.window_s = window_s
        self.on = bool(rpm or tpm)
        self.windows: dict[str, list[float]] = {}  # label -> [start, requests, tokens, full_at]
        # Each key's recent windows, for tests to know exactly when the mock would admit again.
        self.history: dict[str, deque[list[float]]] = {}

    def reset(self) -> None:
        self.windows.clear()
        self.history.clear()

    def _window(self, label: str, now: float) -> list[float]:
        # Fixed window anchored at the key's first request: deterministic for tests, O(1) per request.
        win = self.windows.get(label)
        if win is None or now - win[0] >= self.window_s:
            win = self.windows[label] = [now, 0, 0, -1.0]
            self.history.setdefault(label, deque(maxlen=HISTORY_WINDOWS)).append(win)
        return win

    def headers(self, label: str, now: float) -> bytes:
        if not self.on:
            return b""
        win = self.windows.get(label)
        if win is None or now - win[0] >= self.window_s:
            used_r = used_t = 0
            reset = "0s"
        else:
            used_r, used_t = int(win[1]), int(win[2])
            reset = go_duration(win[0] + self.window_s - now)
        out = b""
        if self.rpm:
            out += (
                b"x-ratelimit-limit-requests: %d\r\nx-ratelimit-remaining-requests: %d\r\n"
                b"x-ratelimit-reset-requests: %s\r\n"
                % (self.rpm, max(0, self.rpm - used_r), (reset if used_r else "0s").encode())
            )
        if self.tpm:
            out += (
                b"x-ratelimit-limit-tokens: %d\r\nx-ratelimit-remaining-tokens: %d\r\n"
                b"x-ratelimit-reset-tokens: %s\r\n"
                % (self.tpm, max(0, self.tpm - used_t), (reset if used_t else "0s").encode())
            )
        return out

    def admit(self, label: str, model: str, tokens: int, now: float) -> Refusal | None:
        """Consume one request and `tokens` from the key's window, or describe the 429."""
        if not self.on:
            return None
        win = self._window(label, now)
        wait = win[0] + self.window_s - now
        if self.rpm and win[1] >= self.rpm:
            msg = (
                f"Rate limit reached for {model} in organization {_ORG} on requests per min (RPM): "
                f"Limit {self.rpm}, Used {int(win[1])}, Requested 1. "
                f"Please try again in {go_duration(wait)}. {_RL_URL}"
            )
            return 429, error_body(msg, "requests", None, "rate_limit_exceeded"), wait
        if self.tpm and tokens > self.tpm:
            msg = (
                f"Request too large for {model} in organization {_ORG} on tokens per min (TPM): "
                f"Limit {self.tpm}, Requested {tokens}. The input or output tokens must be reduced "
                f"in order to run successfully. {_RL_URL}"
            )
            return 429, error_body(msg, "tokens", None, "rate_limit_exceeded"), 0.0
        if self.tpm and win[2] + tokens > self.tpm:
            msg = (
                f"Rate limit reached for {model} in organization {_ORG} on tokens per min (TPM): "
                f"Limit {self.tpm}, Used {int(win[2])}, Requested {tokens}. "
                f"Please try again in {go_duration(wait)}. {_RL_URL}"
            )
            return 429, error_body(msg, "tokens", None, "rate_limit_exceeded"), wait
        win[1] += 1
        win[2] += tokens
        if win[1] == self.rpm:
            win[3] = now
        return None

    def stats(self) -> dict[str, list[list[float | int | None]]]:
        # Per key, its recent windows on this host's CLOCK_MONOTONIC (time.monotonic):
        # [start, requests admitted, when its RPM was used up or null].
        return {
            label: [[w[0], int(w[1]), w[3] if w[3] >= 0 else None] for w in wins]
            for label, wins in self.history.items()
        }
