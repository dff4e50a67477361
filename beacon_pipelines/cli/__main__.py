"""`python -m beacon_pipelines.cli`: the `beacon` command."""

import sys

from beacon_pipelines.cli.main import main

sys.exit(main())
