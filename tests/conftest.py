"""Shared test configuration: the fixed-seed Hypothesis profile selected by HYPOTHESIS_PROFILE."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
