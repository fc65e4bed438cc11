"""`python -m mlgate`: the same commands as the `mlgate` console script."""

import sys

from mlgate.cli import main

sys.exit(main())
