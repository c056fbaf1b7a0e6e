"""Reads of medical waste, scoped (``core.scope``)."""

from epigrid.medwaste.selectors.custody import *  # noqa: F403
from epigrid.medwaste.selectors.oversight import *  # noqa: F403
