"""LLM-as-judge reward service for Amazon Nova RFT.

Public API: load a config into an :class:`Evaluator` and score batches with it; the Lambda
entry point is :func:`judge.lambda_handler.handler`.
"""

from judge.config import RewardConfig, load_config
from judge.deadline import Deadline
from judge.errors import EventError, JudgeError, SourceError
from judge.pipeline import BatchResult, Evaluator, SampleResult
from judge.rubric import Rubric, load_rubric
from judge.verdict import Unscored, Verdict

__all__ = [
    "BatchResult",
    "Deadline",
    "Evaluator",
    "EventError",
    "JudgeError",
    "RewardConfig",
    "Rubric",
    "SampleResult",
    "SourceError",
    "Unscored",
    "Verdict",
    "load_config",
    "load_rubric",
]

# The one place the version is written: pyproject.toml reads it (setuptools dynamic version),
# and so do `judge --version` and the package manifest (the Lambda zip has no dist-info).
__version__ = "0.1.0"
