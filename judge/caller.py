"""One judgement: cache lookup, Converse call with retries, verdict parsing, cache store."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from judge.bedrock import backend_down, classify, error_code
from judge.cache import VerdictCache
from judge.config import JudgeSettings, RetrySettings
from judge.cost import TokenCounts
from judge.deadline import Deadline
from judge.errors import BackendDown
from judge.kinds import kind as kind_named
from judge.label import Answer
from judge.limiter import AdaptiveLimit, DeadlineReached
from judge.retry import RetryStats, call_with_retries
from judge.verdict import Outcome, Unscored, Verdict

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient


@dataclass(frozen=True)
class JudgeTask:
    """A distinct judgement to make: one rendered request of a kind (``judge.kinds``).

    ``rubrics`` are the answers the request asks for: the rubric(s), or a group's response
    labels (``response_1``...), or a checklist's criteria (``criterion_1``...).
    """

    key: str
    rubrics: tuple[Answer, ...]
    request: dict[str, Any]
    fence_key: str = ""  # the request's delimiter key, which a text verdict must carry
    judged: str = ""  # the judged response (its lines never count as the judge's verdict)
    kind: str = "pointwise"  # the request kind that renders and parses it
    member: int = 0  # which judge of the panel makes it (its caller; 0 without a panel)

    @property
    def grouped(self) -> bool:
        """Whether it judges several responses of one group (its failures re-judged alone)."""
        return self.kind == "group"

    def cache_keys(self) -> dict[str, str]:
        """The verdict cache key of each answer's verdict from this request."""
        if not kind_named(self.kind).named:
            return {self.rubrics[0].name: self.key}
        return {
            r.name: hashlib.sha256(f"{self.key}/{r.name}".encode()).hexdigest()
            for r in self.rubrics
        }


Outcomes = dict[str, Outcome]  # rubric name -> its outcome, for one task


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


class Tripwire:
    """Whether a run's judge server is down; fail-fast runs (the CLI) stop on it.

    Shared by a panel's callers. Once tripped, calls are not made (each is unscored at
    once) and the run raises ``BackendDown`` from the calling thread (``JudgeCaller.store``).
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self._lock = threading.Lock()

    def trip(self, reason: str) -> None:
        """Record why the server is down (the first reason is kept)."""
        with self._lock:
            if self.reason is None:
                self.reason = reason


class JudgeCaller:
    """Makes judgements through the Converse API; safe to share between threads.

    ``tripwire`` (the CLI's, not the Lambda handler's) makes a run stop as soon as the judge
    server is found crashed or gone (``judge.bedrock.backend_down``); without one, such a
    judgement is unscored and the others go on.
    """

    tripwire: Tripwire | None = None

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

    def cached(self, tasks: list[JudgeTask], stats: CallStats) -> dict[str, Outcomes]:
        """The tasks whose every rubric has a cached verdict (one store transaction)."""
        wanted = [k for t in tasks for k in t.cache_keys().values()]
        found = self.cache.get_many(wanted)
        hits: dict[str, Outcomes] = {}
        for task in tasks:
            keys = task.cache_keys()
            if all(k in found for k in keys.values()):
                hits[task.key] = {name: found[k] for name, k in keys.items()}
                stats.record_hit()
        return hits

    def judge(self, task: JudgeTask, deadline: Deadline, stats: CallStats) -> Outcomes:
        """Judge once (plus ``parse_retries`` more while an answer cannot be parsed).

        A retry keeps the verdicts already had: only rubrics still unparsed can improve.
        Nothing is cached here; the batch stores its verdicts in one transaction.
        """
        names = [r.name for r in task.rubrics]
        best: Outcomes = dict.fromkeys(
            names, Unscored(reason="deadline", detail="no time left to call the judge")
        )
        for _ in range(1 + self.retry.parse_retries):
            if deadline.expired:
                break
            for name, outcome in self._call_once(task, deadline, stats).items():
                if not isinstance(best[name], Verdict):
                    best[name] = outcome
            if not any(isinstance(o, Unscored) and o.retryable_parse for o in best.values()):
                break
        return best

    def _call_once(self, task: JudgeTask, deadline: Deadline, stats: CallStats) -> Outcomes:
        started = time.monotonic()
        failed: Unscored | None = None
        if self.tripwire is not None and self.tripwire.reason is not None:
            down = Unscored(reason="judge_error", detail=self.tripwire.reason[:300])
            return {r.name: down for r in task.rubrics}
        try:
            response: dict[str, Any] = call_with_retries(
                lambda: self._attempt(task, deadline), self.retry, deadline, stats
            )
        except DeadlineReached as exc:
            failed = Unscored(reason="deadline", detail=str(exc))
        except Exception as exc:
            if (down_reason := backend_down(exc)) is not None:
                failed = Unscored(reason="judge_error", detail=down_reason[:300])
                if self.tripwire is not None:
                    self.tripwire.trip(down_reason)
            else:
                failed = Unscored(reason="judge_error", detail=f"{error_code(exc)}: {exc}"[:300])
        if failed is not None:
            return {r.name: failed for r in task.rubrics}
        stats.record_call(time.monotonic() - started, response.get("usage"), self.settings.model_id)
        return self.parse(task, response)

    def parse(self, task: JudgeTask, response: dict[str, Any]) -> Outcomes:
        """Every answer's outcome from a Converse answer to ``task`` (its kind parses it)."""
        return kind_named(task.kind).parse(response, task, self.settings.verdict_mode)

    def store(self, tasks: list[JudgeTask], outcomes: dict[str, Outcomes]) -> None:
        """Cache the verdicts of ``tasks`` (never unscored outcomes), in one transaction.

        Called in the run's own thread once its calls are over, so a tripped ``tripwire``
        stops the run here (``BackendDown``), after the verdicts already had are kept.
        """
        items = {
            key: outcome
            for task in tasks
            for name, key in task.cache_keys().items()
            if isinstance(outcome := outcomes.get(task.key, {}).get(name), Verdict)
        }
        self.cache.put_many(items)
        if self.tripwire is not None and self.tripwire.reason is not None:
            raise BackendDown(self.tripwire.reason)

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
