"""``python -m textcls`` runs the command line."""

import sys

from textcls.cli import main

sys.exit(main())
