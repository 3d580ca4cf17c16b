"""Provider adapters: pure translation between the canonical (OpenAI) format and each provider."""

from .base import Adapter, StreamTranslator, TranslationError, UpstreamCall, adapter_for

__all__ = ["Adapter", "StreamTranslator", "TranslationError", "UpstreamCall", "adapter_for"]
