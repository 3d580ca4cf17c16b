"""Constrained value types the config's fields share.

A `title` names a pattern's rule in words: the reference shows it as the field's type, and a value
that breaks the rule is reported with it ("must be an http:// or https:// URL").
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

Url = Annotated[str, Meta(pattern=r"^https?://[^\s/]", title="an http:// or https:// URL")]
Port = Annotated[int, Meta(ge=0, le=65535)]
# A time that must pass: 0 would spin a loop or time out at once.
Seconds = Annotated[float, Meta(gt=0)]
NonNegative = Annotated[float, Meta(ge=0)]
Count = Annotated[int, Meta(ge=1)]
Name = Annotated[str, Meta(min_length=1)]
# Header values and secrets end up in HTTP headers, where a line break would start a new one.
SingleLine = Annotated[str, Meta(pattern=r"^[^\r\n]*$", title="a single line")]
Secret = Annotated[str, Meta(pattern=r"^[^\r\n]+$", title="a non-empty single line")]
HeaderName = Annotated[str, Meta(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", title="an HTTP header name")]
ProxyUrl = Annotated[str, Meta(pattern=r"^(direct|http://\S+)$", title="an http:// URL or `direct`")]

# Meta(extra=…) markers read by the reload (gateway/config/changes.py) and the reference: a field
# a reload cannot change (the node must restart), and a field whose value is never shown.
RESTART = {"restart": True}
SECRET = {"secret": True}
