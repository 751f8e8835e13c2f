"""``judge canary build``: the canary set the deployed function re-judges on a schedule.

Tooling (never shipped): it picks the canaries and records the scores the judge gives them
now; ``judge.canaries`` (runtime) reads the file and measures drift against those scores.
"""

from judge.canary.build import CanarySet, build_canaries

__all__ = ["CanarySet", "build_canaries"]
