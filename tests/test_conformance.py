"""The built-in plugins pass the conformance kit that plugin authors run on theirs."""
from optbench.testing.checks import *  # noqa: F401,F403
