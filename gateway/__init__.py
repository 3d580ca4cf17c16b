"""aigw — an AI gateway: one OpenAI-compatible edge in front of many providers and key pools."""

from ._version import __version__

__all__ = ["__version__"]
