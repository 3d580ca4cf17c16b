"""aigw's native HTTP/1.1 front: the data plane's server engine beside granian.

A uvloop protocol with llhttp parsing (httptools), one process per core on one port
(SO_REUSEPORT), presenting the app the RSGI interface granian does (request.py), so the data
plane runs unchanged on either engine. The limits on heads and connections are the front's own:
the head, idle and keep-alive timeouts, the head's size, requests per connection, and
backpressure on callers that read slowly; a body's deadline and rate are the app's, as on
granian.
"""

from .errors import BodyError, ProtocolClosed
from .settings import FrontSettings, Limits

__all__ = ["BodyError", "FrontSettings", "Limits", "ProtocolClosed"]
