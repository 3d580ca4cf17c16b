from __future__ import annotations

import msgspec
import pytest

from gateway.calllog.pricing import DEFAULT_PRICES, ModelPrice, PriceTable, cost


def test_cost_charges_input_output_and_cached_tokens_at_their_rates():
    # gpt-4o: $2.50 in, $1.25 cached, $10 out per 1M.
    assert cost("gpt-4o", 1_000_000, 0) == pytest.approx(2.50)
    assert cost("gpt-4o", 0, 1_000_000) == pytest.approx(10.00)
    # Cached tokens are part of the prompt, charged at the cached rate instead.
    assert cost("gpt-4o", 1_000_000, 0, cached=400_000) == pytest.approx(0.6 * 2.50 + 0.4 * 1.25)
    assert cost("gpt-4o", 1000, 500) == pytest.approx((1000 * 2.50 + 500 * 10.0) / 1e6)


def test_dated_snapshots_use_their_model_and_the_longest_name_wins():
    assert cost("gpt-4o-2024-08-06", 1_000_000, 0) == pytest.approx(2.50)
    assert cost("gpt-4o-mini-2024-07-18", 1_000_000, 0) == pytest.approx(0.15)
    assert cost("claude-sonnet-4-5-20250929", 0, 1_000_000) == pytest.approx(15.0)
    assert cost("claude-opus-4-1-20250805", 1_000_000, 0) == pytest.approx(15.0)
    assert cost("claude-opus-4-5-20251101", 1_000_000, 0) == pytest.approx(5.0)
    # A prefix only counts at a separator: "gpt-4.1" is not "gpt-4" and "gpt-4o" is not "gpt-4".
    assert PriceTable({"gpt-4": ModelPrice(input=30)}, defaults=False).price("gpt-4o") is None


def test_unknown_models_cost_nothing_and_odd_inputs_are_clamped():
    assert cost("my-local-llama", 10_000, 10_000) == 0.0
    assert cost("gpt-4o", 100, 0, cached=10_000) == pytest.approx(100 * 1.25 / 1e6)
    # No cached rate: cache reads cost plain input.
    assert cost("gpt-3.5-turbo", 1_000_000, 0, cached=1_000_000) == pytest.approx(0.50)


def test_the_config_overrides_and_adds_prices():
    table = PriceTable({"gpt-4o": ModelPrice(input=1, output=2), "house-model": ModelPrice(input=3)})
    assert table.cost("gpt-4o", 1_000_000, 1_000_000) == pytest.approx(3.0)
    assert table.cost("house-model", 1_000_000, 0) == pytest.approx(3.0)
    assert table.cost("gpt-4o-mini", 1_000_000, 0) == pytest.approx(0.15)
    only = PriceTable({"house-model": ModelPrice(input=3)}, defaults=False)
    assert only.cost("gpt-4o", 1_000_000, 0) == 0.0


def test_the_config_shape_decodes_strictly():
    shape = dict[str, ModelPrice]
    decoded = msgspec.convert({"m": {"input": 1.0, "output": 2.0, "cached_input": 0.5}}, shape)
    assert decoded["m"] == ModelPrice(input=1.0, output=2.0, cached_input=0.5)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"m": {"input": 1.0, "ouput": 2.0}}, shape)


def test_every_default_price_is_sane():
    for name, p in DEFAULT_PRICES.items():
        assert p.input > 0, name
        assert p.output >= 0, name
        assert p.cached_input is None or p.cached_input <= p.input, name
