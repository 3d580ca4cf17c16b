"""What a call cost: a price table per model, USD per 1M tokens.

Token semantics follow OpenAI's usage block: `prompt` counts every input token, `cached` is the
part of it read from the provider's prompt cache (billed at the cached rate instead of the input
rate). Adapters whose providers count cache reads separately (Anthropic's
`cache_read_input_tokens`) add them into `prompt` before calling `cost()`.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..config.observability import ModelPrice
from ..models.names import NameIndex

# Shipped defaults: standard (non-batch) tier, prompts under any long-context threshold.
# Taken on 2026-11-26 from the providers' public pricing pages (as mirrored by the copies we could
# read); entries marked "unverified" come from a single secondary source. Verify before billing
# anyone; the config's `pricing:` overrides any entry. docs/observability.md lists the caveats.
PRICES_AS_OF = "2026-11-26"
DEFAULT_PRICES: dict[str, ModelPrice] = {
    # OpenAI (platform.openai.com/docs/pricing)
    "gpt-4o": ModelPrice(input=2.50, output=10.00, cached_input=1.25),
    "gpt-4o-mini": ModelPrice(input=0.15, output=0.60, cached_input=0.075),
    "gpt-4.1": ModelPrice(input=2.00, output=8.00, cached_input=0.50),
    "gpt-4.1-mini": ModelPrice(input=0.40, output=1.60, cached_input=0.10),
    "gpt-4.1-nano": ModelPrice(input=0.10, output=0.40, cached_input=0.025),
    "gpt-5": ModelPrice(input=1.25, output=10.00, cached_input=0.125),
    "gpt-5-mini": ModelPrice(input=0.25, output=2.00, cached_input=0.025),
    "gpt-5-nano": ModelPrice(input=0.05, output=0.40, cached_input=0.005),
    "gpt-5.4": ModelPrice(input=2.50, output=15.00, cached_input=0.25),  # unverified
    "gpt-5.4-mini": ModelPrice(input=0.75, output=4.50, cached_input=0.075),  # unverified
    "gpt-5.4-nano": ModelPrice(input=0.20, output=1.25, cached_input=0.02),  # unverified
    "gpt-5.5": ModelPrice(input=5.00, output=30.00, cached_input=0.50),  # unverified
    "o1": ModelPrice(input=15.00, output=60.00, cached_input=7.50),
    "o3": ModelPrice(input=2.00, output=8.00, cached_input=0.50),
    "o3-mini": ModelPrice(input=1.10, output=4.40, cached_input=0.55),
    "o4-mini": ModelPrice(input=1.10, output=4.40, cached_input=0.275),
    "gpt-3.5-turbo": ModelPrice(input=0.50, output=1.50),
    "text-embedding-3-small": ModelPrice(input=0.02),
    "text-embedding-3-large": ModelPrice(input=0.13),
    "text-embedding-ada-002": ModelPrice(input=0.10),
    # Anthropic (platform.claude.com/docs/en/about-claude/pricing); cached = cache hits.
    # Cache writes (1.25x / 2x input) are not modelled: they are billed here as plain input.
    "claude-opus-5": ModelPrice(input=5.00, output=25.00, cached_input=0.50),
    "claude-opus-4-8": ModelPrice(input=5.00, output=25.00, cached_input=0.50),
    "claude-opus-4-7": ModelPrice(input=5.00, output=25.00, cached_input=0.50),
    "claude-opus-4-6": ModelPrice(input=5.00, output=25.00, cached_input=0.50),
    "claude-opus-4-5": ModelPrice(input=5.00, output=25.00, cached_input=0.50),
    "claude-opus-4-1": ModelPrice(input=15.00, output=75.00, cached_input=1.50),
    "claude-opus-4": ModelPrice(input=15.00, output=75.00, cached_input=1.50),
    "claude-sonnet-5": ModelPrice(input=2.00, output=10.00, cached_input=0.20),
    "claude-sonnet-4-6": ModelPrice(input=3.00, output=15.00, cached_input=0.30),
    "claude-sonnet-4-5": ModelPrice(input=3.00, output=15.00, cached_input=0.30),
    "claude-sonnet-4": ModelPrice(input=3.00, output=15.00, cached_input=0.30),
    "claude-3-7-sonnet": ModelPrice(input=3.00, output=15.00, cached_input=0.30),
    "claude-3-5-sonnet": ModelPrice(input=3.00, output=15.00, cached_input=0.30),
    "claude-haiku-4-5": ModelPrice(input=1.00, output=5.00, cached_input=0.10),
    "claude-3-5-haiku": ModelPrice(input=0.80, output=4.00, cached_input=0.08),
    "claude-3-haiku": ModelPrice(input=0.25, output=1.25, cached_input=0.03),
    # Google Gemini (ai.google.dev/gemini-api/docs/pricing), prompts <= 200k tokens.
    "gemini-3-pro-preview": ModelPrice(input=2.00, output=12.00, cached_input=0.20),  # unverified
    "gemini-2.5-pro": ModelPrice(input=1.25, output=10.00, cached_input=0.125),
    "gemini-2.5-flash": ModelPrice(input=0.30, output=2.50, cached_input=0.03),
    "gemini-2.5-flash-lite": ModelPrice(input=0.10, output=0.40, cached_input=0.01),
    "gemini-2.0-flash": ModelPrice(input=0.10, output=0.40, cached_input=0.025),
    "gemini-2.0-flash-lite": ModelPrice(input=0.075, output=0.30),
}

# cost()'s cache miss marker (compared by identity).
_UNRESOLVED: tuple[float, float, float] = (-1.0, -1.0, -1.0)


class PriceTable:
    """Looks a model up by exact name, else by the longest entry it starts with (a dated snapshot
    of a listed model). Results are cached per name, so the hot path pays one dict lookup."""

    def __init__(self, prices: Mapping[str, ModelPrice] | None = None, *, defaults: bool = True):
        self._prices = {**(DEFAULT_PRICES if defaults else {}), **(prices or {})}
        self._names = NameIndex(self._prices)
        # model -> (input, output, cached input) rates, or None: cost()'s cache.
        self._rates: dict[str, tuple[float, float, float] | None] = {}

    def price(self, model: str) -> ModelPrice | None:
        name = self._names.find(model)
        return None if name is None else self._prices[name]

    def cost(self, model: str, prompt: int, completion: int, cached: int = 0) -> float:
        """USD for one call; 0.0 for a model the table does not know."""
        rates = self._rates.get(model, _UNRESOLVED)  # once per request: one lookup when cached
        if rates is _UNRESOLVED:
            p = self.price(model)
            if p is None:
                rates = None
            else:
                rates = (p.input, p.output, p.input if p.cached_input is None else p.cached_input)
            if len(self._rates) < 4096:
                self._rates[model] = rates
        if rates is None:
            return 0.0
        inp, out, cached_rate = rates
        if cached:
            cached = min(max(cached, 0), prompt)
        return ((prompt - cached) * inp + cached * cached_rate + completion * out) / 1e6


_DEFAULT_TABLE = PriceTable()


def cost(model: str, prompt: int, completion: int, cached: int = 0) -> float:
    """USD for one call at the shipped default prices."""
    return _DEFAULT_TABLE.cost(model, prompt, completion, cached)
