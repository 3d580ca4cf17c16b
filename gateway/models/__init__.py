"""What aigw knows about models: their capabilities (capabilities.json, synced from a published
catalogue), and which caller parameters each target takes (params.py)."""
