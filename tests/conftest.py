"""Test configuration: the hypothesis profile used by CI and by default.

``HYPOTHESIS_PROFILE`` selects another registered profile, e.g. hypothesis' own ``default``
(random, 100 examples) for a deeper local run: ``HYPOTHESIS_PROFILE=default pytest``.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,  # the same examples on every run: a red CI is reproducible
    database=None,  # no .hypothesis/ directory written by test runs
    max_examples=30,
    deadline=None,  # solver timings vary across machines; speed is measured in benchmarks/
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
