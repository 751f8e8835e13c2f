"""The Nova RFT reward Lambda: ``judge.lambda_handler.handler``.

Config, rubrics, templates and the boto3 client are built once per container (during the
init phase when running on Lambda) and reused by every invocation.
"""

from __future__ import annotations

import gc
import json
import logging
import os
from typing import Any

# Importing the runtime builds several hundred classes, functions, regexes and models that live
# as long as the container. The collector's passes over them while they are built free nothing
# and were a measurable part of the cold start, so collection is off while this module imports
# the runtime (and, on Lambda, builds the evaluator); what was built is then frozen
# (``gc.freeze``) so that later collections, during invocations, skip it as well.
_collecting = gc.isenabled()
gc.disable()
try:
    from judge.api import Reward
    from judge.cost import price_table
    from judge.deadline import Deadline, LambdaContext
    from judge.observe import record
    from judge.pipeline import BatchResult, Evaluator
except BaseException:
    if _collecting:
        gc.enable()
    raise

log = logging.getLogger("judge")

_evaluator: Evaluator | None = None  # the warm container's; tests may set it


def get_evaluator() -> Evaluator:
    """The container's evaluator, built on first use from ``JUDGE_CONFIG`` / ``reward.toml``."""
    global _evaluator
    if _evaluator is None:
        _evaluator = Evaluator.from_config()
    return _evaluator


def get_reward() -> Reward:
    """The container's reward (the public API over its evaluator)."""
    return Reward(get_evaluator())


def reset() -> None:
    """Forget the container's evaluator (tests; or after changing ``JUDGE_CONFIG``)."""
    global _evaluator
    if _evaluator is not None:
        _evaluator.close()
    _evaluator = None


def run_event(
    evaluator: Evaluator, event: object, deadline: Deadline, progress: Any = None
) -> tuple[list[dict[str, Any]], BatchResult]:
    """Answer an RFT event: one item per sample, in order, each with a finite reward."""
    reward = Reward(evaluator)
    batch = reward.score(event, deadline=deadline, progress=progress)
    return reward.answer(batch), batch


def handler(event: object, context: LambdaContext | None = None) -> Any:
    """Lambda entry point: a batch of RFT samples in, a bare list of rewards out.

    Returns the list, or its JSON as bytes when the runtime could not send the list
    (``wire``); typed ``Any`` as the runtime takes it.
    """
    reward = get_reward()
    deadline = Deadline.from_context(context, reward.config.runtime.deadline_margin_ms)
    if is_canary_event(event):  # the scheduled canary run; training never loads its code
        from judge.canaries import run_canaries

        return run_canaries(reward.evaluator, deadline)
    batch = reward.score(event, deadline=deadline)
    record(batch, list(reward.evaluator.rubrics), price_table(reward.config.pricing))
    return wire(reward.answer(batch))


def is_canary_event(event: object) -> bool:
    """``{"judge_canary": true}`` and nothing else: the schedule's event, never an RFT batch.

    A batch is a list, or an object with ``trajectories`` or ``messages``
    (``judge.contract.samples_of``); this object has exactly one other key, and the
    contract reader refuses it as "not a batch", so neither can be taken for the other.
    """
    return isinstance(event, dict) and len(event) == 1 and event.get("judge_canary") is True


def wire(answer: list[dict[str, Any]]) -> list[dict[str, Any]] | bytes:
    r"""The answer in a form the Lambda runtime sends unchanged: itself, or its own JSON.

    The python3.12+ runtimes write a handler's return value as JSON with
    ``ensure_ascii=False`` and send it as UTF-8 (awslambdaric's marshaller), which cannot
    hold a lone surrogate: an id such as ``"\ud800"`` (valid JSON, echoed exactly) would
    fail the invocation after every judgement was made. The runtime sends bytes as they are,
    so such an answer is returned as its JSON with ASCII escapes, every id as the event held it.
    """
    try:
        json.dumps(answer, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(answer).encode("ascii")
    return answer


try:
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        # Build during Lambda's init phase (full CPU, not billed to the first invocation).
        get_evaluator()
finally:
    gc.freeze()
    if _collecting:
        gc.enable()
