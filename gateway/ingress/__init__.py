"""Ingress formats other than OpenAI's: translate callers' requests to the canonical format and
answers back (the Anthropic Messages API today)."""
