"""The Nova RFT reward Lambda: ``judge.lambda_handler.handler``.

Config, rubrics, templates and the boto3 client are built once per container (during the
init phase when running on Lambda) and reused by every invocation.
"""

from __future__ import annotations

import json
import logging
import math
import os
from typing import Any

from judge.contract import response_item, samples_of, shown_id
from judge.cost import price_table
from judge.deadline import Deadline, LambdaContext
from judge.observe import record
from judge.pipeline import BatchResult, Evaluator

log = logging.getLogger("judge")

_evaluator: Evaluator | None = None


def get_evaluator() -> Evaluator:
    """The container's evaluator, built on first use from ``JUDGE_CONFIG`` / ``reward.toml``."""
    global _evaluator
    if _evaluator is None:
        _evaluator = Evaluator.from_config()
    return _evaluator


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
    raw = samples_of(event)
    batch = evaluator.evaluate(raw, deadline, progress)
    answer = []
    for result in batch.results:
        reward = result.reward
        if not math.isfinite(reward):  # defence in depth: the contract forbids NaN/inf
            log.error(
                "non-finite reward for %s replaced by the unscored value", shown_id(result.id)
            )
            reward = evaluator.config.unscored.value
        answer.append(response_item(result.id, reward, result.metrics()))
    return answer, batch


def handler(event: object, context: LambdaContext | None = None) -> Any:
    """Lambda entry point: a batch of RFT samples in, a bare list of rewards out.

    Returns the list, or its JSON as bytes when the runtime could not send the list
    (``wire``); typed ``Any`` as the runtime takes it.
    """
    evaluator = get_evaluator()
    deadline = Deadline.from_context(context, evaluator.config.runtime.deadline_margin_ms)
    answer, batch = run_event(evaluator, event, deadline)
    record(batch, list(evaluator.rubrics), price_table(evaluator.config.pricing))
    return wire(answer)


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


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # Build during Lambda's init phase (full CPU, not billed to the first invocation).
    get_evaluator()
