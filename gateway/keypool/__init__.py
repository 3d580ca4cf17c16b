"""Provider key pools: learn each key's headroom, classify failures, keep keys healthy."""
