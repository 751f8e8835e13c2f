"""One judgement: cache lookup, Converse call with retries, verdict parsing, cache store."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from judge.bedrock import classify, error_code
from judge.cache import VerdictCache
from judge.config import JudgeSettings, RetrySettings
from judge.cost import TokenCounts
from judge.deadline import Deadline
from judge.limiter import AdaptiveLimit, DeadlineReached
from judge.retry import RetryStats, call_with_retries
from judge.rubric import Rubric
from judge.verdict import Outcome, Unscored, Verdict, parse_converse_response

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient


@dataclass(frozen=True)
class JudgeTask:
    """A distinct judgement to make: one rubric, one rendered request."""

    key: str
    rubric: Rubric
    request: dict[str, Any]
    fence_key: str = ""  # the request's delimiter key, which a text verdict must carry
    judged: str = ""  # the judged response (its lines never count as the judge's verdict)


@dataclass
class CallStats(RetryStats):
    """Counters for a batch's judge calls (thread-safe).

    Tokens are kept per model id as well as in total, so a batch's cost can be priced per
    model (``judge.cost``).
    """

    calls: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    tokens: dict[str, TokenCounts] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)
    _stats_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_call(self, seconds: float, usage: dict[str, Any] | None, model_id: str = "") -> None:
        """Count one completed Converse call (after its retries) to ``model_id``."""
        with self._stats_lock:
            self.calls += 1
            self.latencies_s.append(seconds)
            if usage:
                counts = self.tokens.setdefault(model_id, TokenCounts())
                counts.add(usage)
                self.input_tokens += int(usage.get("inputTokens", 0) or 0)
                self.output_tokens += int(usage.get("outputTokens", 0) or 0)
                self.cache_read_tokens += int(usage.get("cacheReadInputTokens", 0) or 0)
                self.cache_write_tokens += int(usage.get("cacheWriteInputTokens", 0) or 0)

    def record_hit(self) -> None:
        """Count one verdict served from the cache."""
        with self._stats_lock:
            self.cache_hits += 1


class JudgeCaller:
    """Makes judgements through the Converse API; safe to share between threads."""

    def __init__(
        self,
        client: BedrockRuntimeClient,
        settings: JudgeSettings,
        retry: RetrySettings,
        cache: VerdictCache,
        limit: AdaptiveLimit | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.retry = retry
        self.cache = cache
        self.limit = limit

    def cached(self, task: JudgeTask, stats: CallStats) -> Verdict | None:
        """The cached verdict for ``task``, if any."""
        hit = self.cache.get(task.key)
        if hit is not None:
            stats.record_hit()
        return hit

    def judge(self, task: JudgeTask, deadline: Deadline, stats: CallStats) -> Outcome:
        """Judge once (plus ``parse_retries`` more if the answer cannot be parsed)."""
        outcome: Outcome = Unscored(reason="deadline", detail="no time left to call the judge")
        for _ in range(1 + self.retry.parse_retries):
            if deadline.expired:
                return outcome
            outcome = self._call_once(task, deadline, stats)
            if isinstance(outcome, Verdict):
                self.cache.put(task.key, outcome)
                return outcome
            if not outcome.retryable_parse:
                return outcome
        return outcome

    def _call_once(self, task: JudgeTask, deadline: Deadline, stats: CallStats) -> Outcome:
        started = time.monotonic()
        try:
            response: dict[str, Any] = call_with_retries(
                lambda: self._attempt(task, deadline), self.retry, deadline, stats
            )
        except DeadlineReached as exc:
            return Unscored(reason="deadline", detail=str(exc))
        except Exception as exc:
            return Unscored(reason="judge_error", detail=f"{error_code(exc)}: {exc}"[:300])
        stats.record_call(time.monotonic() - started, response.get("usage"), self.settings.model_id)
        return parse_converse_response(
            response,
            task.rubric.scores,
            mode=self.settings.verdict_mode,
            key=task.fence_key,
            judged=task.judged,
        )

    def _attempt(self, task: JudgeTask, deadline: Deadline) -> dict[str, Any]:
        """One Converse call, inside the adaptive concurrency limit when there is one."""
        if self.limit is None:
            return self._converse(task)
        ticket = self.limit.acquire(deadline)
        throttled = False
        try:
            return self._converse(task)
        except Exception as exc:
            throttled = classify(exc) == "throttle"
            raise
        finally:
            self.limit.release(ticket, throttled)

    def _converse(self, task: JudgeTask) -> dict[str, Any]:
        return dict(self.client.converse(modelId=self.settings.model_id, **task.request))
