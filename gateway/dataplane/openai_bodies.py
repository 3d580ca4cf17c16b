"""The OpenAI body the data plane writes itself: the model list.

Requests are read as the canonical ones (gateway/providers/canonical.py), which type every
documented parameter; the caller's bytes are what is forwarded, so fields no Struct declares
(provider-specific extras) pass through untouched.
"""

from __future__ import annotations

import msgspec


class ModelCard(msgspec.Struct):
    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = "aigw"


class ModelList(msgspec.Struct):
    data: list[ModelCard]
    object: str = "list"


MODEL_LIST_ENCODER = msgspec.json.Encoder()
