"""Whether this process uses the compiled core (`gateway._native`), decided once at import.

Each part of the core has a pure-Python reference that defines it: admission and the shared
region (gateway/admission/), the usage scan, `x-ratelimit-*` headers, metric series, response
heads, headroom and the call-log writer. `AIGW_PURE_PYTHON=1` serves with the references (for
debugging, and for comparing the two); every module with a compiled counterpart asks `ENABLED`
here and never reads the environment itself, so one process never mixes the two by accident.
"""

from __future__ import annotations

import os

ENV = "AIGW_PURE_PYTHON"

ENABLED = os.environ.get(ENV) != "1"
