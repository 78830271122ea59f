"""`python -m infra.entrypoints.cli`: the `subledger` command line."""

import sys

from infra.entrypoints.cli.main import main

sys.exit(main())
