"""`python -m reference371os`: the reference's command line (cli.py)."""

import sys

from reference371os.cli import main

sys.exit(main())
