"""LLM-as-judge reward service for Amazon Nova RFT.

Public API: load a config into an :class:`Evaluator` and score batches with it; the Lambda
entry point is :func:`judge.lambda_handler.handler`.

The names below are imported on first use, so that importing a submodule (the Lambda
handler first of all) does not import the whole package before that module's own code runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from judge.config import RewardConfig, load_config
    from judge.deadline import Deadline
    from judge.errors import EventError, JudgeError, SourceError
    from judge.pipeline import BatchResult, Evaluator, SampleResult
    from judge.rubric import Rubric, load_rubric
    from judge.verdict import Unscored, Verdict

_EXPORTS = {
    "BatchResult": "judge.pipeline",
    "Deadline": "judge.deadline",
    "Evaluator": "judge.pipeline",
    "EventError": "judge.errors",
    "JudgeError": "judge.errors",
    "RewardConfig": "judge.config",
    "Rubric": "judge.rubric",
    "SampleResult": "judge.pipeline",
    "SourceError": "judge.errors",
    "Unscored": "judge.verdict",
    "Verdict": "judge.verdict",
    "load_config": "judge.config",
    "load_rubric": "judge.rubric",
}

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


def __getattr__(name: str) -> Any:
    """``judge.Evaluator`` and the other public names, from their modules."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'judge' has no attribute {name!r}")
    return getattr(import_module(module), name)
