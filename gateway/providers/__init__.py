"""Provider adapters: pure translation between the canonical (OpenAI) format and each provider."""

from .base import Adapter, StreamTranslator, UpstreamCall, adapter_for, unsupported

__all__ = ["Adapter", "StreamTranslator", "UpstreamCall", "adapter_for", "unsupported"]
