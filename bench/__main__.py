"""`python -m bench`: the bench harness command line."""

import sys

from .cli import main

sys.exit(main())
