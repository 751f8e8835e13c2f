"""The public Python API: load a reward from its config, score samples, read typed results.

The Lambda handler, ``judge score`` and ``judge batch collect`` all answer through
``Reward``, so a script using it gets exactly the rewards the Lambda would return::

    from judge.api import load_reward

    with load_reward("reward.toml") as reward:
        batch = reward.score(samples)  # or: await reward.ascore(samples)
        for result in batch.results:
            print(result.id, result.reward)
            for dim in result.dimensions:
                for j in dim.judgements:
                    print(dim.rubric, j.raw, j.calibrated, j.reasoning)

A verifiable check (``[checks.<name>]``) is a dimension too: ``dim.check`` is its kind and
``dim.details`` what it measured (``dim.judgements`` is empty); ``result.short_circuited``
says a gated check floored the sample before any judge call.

``samples`` is anything the Lambda accepts as an event: a list of RFT samples,
``{"trajectories": [...]}`` or one sample. Every input gets one result, in order; a sample
that could not be judged is unscored (``result.unscored``), never a score of 0.
"""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from judge.assemble import BatchResult, SampleResult
from judge.config import RewardConfig
from judge.contract import response_item, samples_of, shown_id
from judge.deadline import Deadline
from judge.pipeline import Evaluator, Progress
from judge.reward import Dimension, Judged

__all__ = ["BatchResult", "Dimension", "Judged", "Reward", "SampleResult", "load_reward"]

log = logging.getLogger("judge")


class Reward:
    """A reward function built from one config: judges, rubrics, maps, cache and clients.

    Build it once and reuse it (it holds connection pools and the verdict cache). Calls
    are serialised: a batch's judgements already run concurrently inside one call.
    """

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        self._lock = threading.Lock()

    @property
    def config(self) -> RewardConfig:
        """The validated config this reward was built from."""
        return self.evaluator.config

    def score(
        self,
        samples: object,
        *,
        deadline: Deadline | None = None,
        progress: Progress | None = None,
    ) -> BatchResult:
        """Score a batch (an RFT event); ``EventError`` if ``samples`` is not a batch.

        ``deadline``: judgements unfinished by then are unscored (default: no deadline).
        """
        raw = samples_of(samples)
        with self._lock:
            return self.evaluator.evaluate(raw, deadline or Deadline.never(), progress)

    async def ascore(self, samples: object, *, deadline: Deadline | None = None) -> BatchResult:
        """``score`` without blocking the event loop (it runs in a worker thread)."""
        import asyncio  # here, not at the top: the Lambda's cold start never needs it

        return await asyncio.to_thread(self.score, samples, deadline=deadline)

    def answer(self, batch: BatchResult) -> list[dict[str, Any]]:
        """The Lambda's answer for ``batch``: one item per sample, in order, each finite."""
        out = []
        for result in batch.results:
            reward = result.reward
            if not math.isfinite(reward):  # defence in depth: the contract forbids NaN/inf
                log.error(
                    "non-finite reward for %s replaced by the unscored value", shown_id(result.id)
                )
                reward = self.config.unscored.value
            out.append(response_item(result.id, reward, result.metrics()))
        return out

    def close(self) -> None:
        """Release the verdict cache and the HTTP connection pools."""
        self.evaluator.close()

    def __enter__(self) -> Reward:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def load_reward(config_path: str | Path | None = None) -> Reward:
    """The reward a config describes (default: ``$JUDGE_CONFIG``, else ``./reward.toml``)."""
    return Reward(Evaluator.from_config(config_path))
