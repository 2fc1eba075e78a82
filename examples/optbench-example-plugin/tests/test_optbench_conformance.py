"""optbench's conformance kit, run against this package's plugin (see pyproject.toml)."""
from optbench.testing.checks import *  # noqa: F401,F403
