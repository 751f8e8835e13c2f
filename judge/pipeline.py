"""Score a batch: parse samples, guard, render, de-duplicate, judge in parallel, combine.

This is the one code path behind the Lambda handler, ``judge score`` and calibration.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any, TypeVar

from judge.bedrock import make_client
from judge.cache import VerdictCache, cache_key
from judge.calibration.artefact import endpoint_kind, maps_in_force
from judge.caller import CallStats, JudgeCaller, JudgeTask, Outcomes
from judge.checklist import (
    SampleRubric,
    criterion_rubrics,
    implicit_rubric,
    parse_sample_rubric,
)
from judge.config import SAMPLE_RUBRIC, RewardConfig, load_config
from judge.contract import Sample, duplicate_ids, parse_sample
from judge.deadline import Deadline
from judge.errors import JudgeError
from judge.guard import Guard, Phrase, bundled_phrases, core, load_lexicon
from judge.limiter import AdaptiveLimit
from judge.plan import ChecklistResult, Plan, reference_view
from judge.prompt import JudgeInput, Kind, PromptRenderer
from judge.reward import Dimension, combine, fill_unscored, normalize
from judge.rubric import Rubric, load_rubrics
from judge.secret import load_secret
from judge.verdict import Outcome, Unscored, Verdict

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

log = logging.getLogger("judge")
T = TypeVar("T")
# A judge that accepts connections and never answers is silent until the read timeout (60 s,
# per retry): the wait says so every this many seconds instead of printing nothing.
SILENCE_WARNING_S = 20.0

Progress = Callable[[int, int], None]


@dataclass
class SampleResult:
    """The reward for one sample and everything that explains it."""

    id: Any
    reward: float
    dimensions: list[Dimension] = field(default_factory=list)
    unscored: bool = False
    guarded: str | None = None
    malformed: str | None = None
    gate: str | None = None
    refused: bool = False
    stale_calibration: int = 0
    checklist: ChecklistResult | None = None

    def metrics(self) -> list[tuple[str, float, str]]:
        """``metrics_list`` entries: dimension scores (0..1) and flags (0/1)."""
        out: list[tuple[str, float, str]] = [
            (d.rubric, d.normalized, "Reward") for d in self.dimensions if d.normalized is not None
        ]
        out += [
            (
                "unscored_dimensions",
                float(sum(d.normalized is None for d in self.dimensions)),
                "Metric",
            ),
            ("unscored", float(self.unscored), "Metric"),
            ("guarded", float(self.guarded is not None), "Metric"),
            ("malformed", float(self.malformed is not None), "Metric"),
            ("gated", float(self.gate is not None), "Metric"),
            ("refused", float(self.refused), "Metric"),
            *(self.checklist.metrics() if self.checklist else []),
            ("calibration_stale", float(self.stale_calibration), "Metric"),
        ]
        return out


@dataclass
class BatchResult:
    """All samples' results, in input order, and the batch's counters."""

    results: list[SampleResult]
    stats: CallStats
    judgements: int = 0
    deduplicated: int = 0
    wall_s: float = 0.0

    def scores(self, rubric: str) -> list[float]:
        """The rubric's scored (0..1) values across the batch."""
        return [
            d.normalized
            for r in self.results
            for d in r.dimensions
            if d.rubric == rubric and d.normalized is not None
        ]

    def counts(self) -> dict[str, int]:
        """How many samples were unscored, guarded, malformed and gated."""
        return {
            "unscored": sum(r.unscored for r in self.results),
            "guarded": sum(r.guarded is not None for r in self.results),
            "malformed": sum(r.malformed is not None for r in self.results),
            "gated": sum(r.gate is not None for r in self.results),
            "refused": sum(r.refused for r in self.results),
        }


class Evaluator:
    """Holds what a warm Lambda keeps between invocations: config, rubrics, templates, client."""

    def __init__(
        self,
        config: RewardConfig,
        rubrics: dict[str, Rubric],
        renderer: PromptRenderer,
        caller: JudgeCaller,
    ) -> None:
        self.config = config
        self.rubrics = rubrics
        self.renderer = renderer
        self.caller = caller
        self.guard = make_guard(config)
        # Calibration maps that match the rubric, templates and model in use; stale ones are
        # reported (log warning + metric) and not applied.
        self.endpoint_url = str(caller.client.meta.endpoint_url)
        self.endpoint = endpoint_kind(self.endpoint_url)
        self.maps, self.stale_calibration = maps_in_force(
            config.path("calibration"), rubrics, renderer.template_hash, config.judge, self.endpoint
        )

    @classmethod
    def from_config(
        cls, path: str | Path | None = None, *, client: BedrockRuntimeClient | None = None
    ) -> Evaluator:
        """Build from a config file (``--config``, ``JUDGE_CONFIG`` or ``reward.toml``)."""
        return cls.from_settings(load_config(path), client=client)

    @classmethod
    def from_settings(
        cls, config: RewardConfig, *, client: BedrockRuntimeClient | None = None
    ) -> Evaluator:
        """Build from a validated config."""
        rubrics = load_rubrics(config.path("rubrics"), list(config.rubrics))
        renderer = PromptRenderer(config.path("prompts"), load_secret(config.cache_dir()))
        cache = VerdictCache(config.cache_dir(), config.runtime.cache_size_limit_mb)
        client = client or make_client(config.judge, config.runtime.concurrency)
        limit = (
            AdaptiveLimit(config.runtime.concurrency)
            if config.runtime.adaptive_concurrency
            else None
        )
        caller = JudgeCaller(client, config.judge, config.retry, cache, limit)
        return cls(config, rubrics, renderer, caller)

    def close(self) -> None:
        """Release the cache and the HTTP connection pool."""
        self.caller.cache.close()
        self.caller.client.close()

    def to_unit(self, rubric: Rubric, score: int) -> float:
        """A verdict mapped to 0..1: through the calibration map when one is in force."""
        score_map = self.maps.get(rubric.name)
        if score_map is not None:
            return score_map.to_unit(score)
        return normalize(score, rubric.scale_min, rubric.scale_max)

    def task(self, rubric: Rubric, item: JudgeInput, draw: int = 0) -> JudgeTask:
        """The judgement of ``item`` on ``rubric`` (``draw`` > 0: a repeated sample)."""
        return self.task_many((rubric,), item, draw)

    def task_many(
        self,
        rubrics: tuple[Rubric, ...],
        item: JudgeInput,
        draw: int = 0,
        kind: Kind | None = None,
    ) -> JudgeTask:
        """One call judging ``item`` on all of ``rubrics`` (one rubric: the usual request)."""
        kind = kind or ("single" if len(rubrics) == 1 else "combined")
        request = self.renderer.render_many(rubrics, item, self.config.judge, kind)
        key = cache_key(
            model_id=self.config.judge.model_id,
            endpoint=self.endpoint_url,
            request=request,
            rubric_hash="+".join(r.content_hash for r in rubrics),
            template_hash=self.renderer.template_hash,
            draw=draw,
        )
        return JudgeTask(
            key, rubrics, request, self.renderer.key(item), item.response, kind != "single"
        )

    def sample_tasks(self, item: JudgeInput) -> dict[str, JudgeTask]:
        """Each fixed rubric's task for ``item`` (no sample rubric; see ``plan``)."""
        return self.plan(item).tasks

    def plan(self, item: JudgeInput, own: SampleRubric | None = None) -> Plan:
        """What judging ``item`` takes: its tasks, and outcomes known without a call.

        Fixed rubrics share one task in combined mode. A rubric that requires the reference
        answer is unscored without one (never judged blind), and one that ignores it is
        judged without it. The sample's own rubric (``own``) adds the ``sample_rubric``
        dimension: a checklist judged explicitly is one more call with one 0/1 answer per
        criterion; implicit checklists and markdown rubrics are judged like a file rubric.
        """
        plan = Plan()
        fixed = {} if (own is not None and self.config.sample_rubric.only) else self.rubrics
        judged: list[Rubric] = []
        for name, rubric in fixed.items():
            plan.dimensions.append(name)
            if rubric.reference == "required" and item.reference is None:
                plan.preset[name] = Unscored(
                    reason="reference_missing", detail="the rubric requires a reference answer"
                )
            else:
                judged.append(rubric)
        if self.config.judge.combine_rubrics and len(judged) > 1:
            task = self.task_many(tuple(judged), reference_view(judged, item))
            plan.tasks.update(dict.fromkeys((r.name for r in judged), task))
        else:
            plan.tasks.update({r.name: self.task(r, reference_view([r], item)) for r in judged})
        if own is not None:
            plan.dimensions.append(SAMPLE_RUBRIC)
            if own.rubric is None and self.config.sample_rubric.mode == "explicit":
                plan.criteria = own.criteria
                task = self.task_many(criterion_rubrics(own), item, kind="checklist")
                plan.tasks.update(dict.fromkeys((r.name for r in task.rubrics), task))
            else:
                scale = self.config.sample_rubric.implicit_scale
                plan.own_rubric = own.rubric or implicit_rubric(own, scale)
                plan.tasks[SAMPLE_RUBRIC] = self.task(plan.own_rubric, item)
        return plan

    def judge_items(
        self,
        rubric: Rubric,
        items: list[JudgeInput],
        draws: int,
        deadline: Deadline,
        progress: Progress | None = None,
    ) -> tuple[list[list[Outcome]], CallStats]:
        """Raw outcomes for each item, ``draws`` times each (calibration's entry point).

        In combined mode the anchors are judged as the Lambda judges samples: in one call
        with every rubric of the config (so the map fits the verdicts it will be applied to).
        """
        combined = self.config.judge.combine_rubrics and rubric.name in self.rubrics
        group = tuple(self.rubrics.values()) if combined else (rubric,)
        tasks = [[self.task_many(group, item, d) for d in range(draws)] for item in items]
        unique = {t.key: t for row in tasks for t in row}
        stats = CallStats()
        outcomes = self._judge_all(list(unique.values()), deadline, stats, progress)
        return [[outcomes[t.key][rubric.name] for t in row] for row in tasks], stats

    def evaluate(
        self, raw_samples: list[Any], deadline: Deadline, progress: Progress | None = None
    ) -> BatchResult:
        """Score every sample; always returns one result per input, in order."""
        started = time.monotonic()
        samples = [parse_sample(i, raw) for i, raw in enumerate(raw_samples)]
        if dupes := duplicate_ids(samples):
            log.warning("duplicate sample ids in the batch: %s", ", ".join(map(str, dupes[:10])))
        guarded: dict[int, str] = {}
        tasks: dict[str, JudgeTask] = {}
        plans: dict[int, Plan] = {}
        for i, s in enumerate(samples):
            if s.item is None:
                continue
            try:
                own = self._own_rubric(s)
            except (ValueError, OverflowError) as exc:  # bad rubric data: this sample's own
                samples[i] = replace(s, item=None, problem=f"bad rubric: {exc}"[:500])
                continue
            try:
                flag = f"unsupported: {s.unsupported}" if s.unsupported else self._guard(s.item)
                if flag is not None:
                    guarded[s.index] = flag
                    continue
                plan = self.plan(s.item, own)
            except JudgeError:
                raise  # a broken template or config: every sample would fail alike
            except Exception as exc:  # one hostile sample is that sample's problem
                log.exception("sample %d could not be prepared", s.index)
                samples[i] = replace(s, item=None, problem=f"cannot be judged ({exc!r})"[:200])
                continue
            plans[s.index] = plan
            for task in plan.tasks.values():
                tasks.setdefault(task.key, task)
        keys = {(i, name): t.key for i, p in plans.items() for name, t in p.tasks.items()}
        stats = CallStats()
        outcomes = self._judge_all(list(tasks.values()), deadline, stats, progress)
        results = self._assemble(samples, guarded, plans, outcomes)
        unique_judgements = sum(len(t.rubrics) for t in tasks.values())
        return BatchResult(
            results,
            stats,
            judgements=len(keys),
            deduplicated=len(keys) - unique_judgements,
            wall_s=time.monotonic() - started,
        )

    def _own_rubric(self, sample: Sample) -> SampleRubric | None:
        """The sample's own rubric, parsed (``ValueError``: bad rubric data)."""
        if not self.config.sample_rubric.enabled or sample.rubric_data is None:
            return None
        place, value = sample.rubric_data
        return parse_sample_rubric(place, value, self.config.sample_rubric)

    def _guard(self, item: JudgeInput) -> str | None:
        """The guard's flag for ``item`` (None when the guard is off or lets it through)."""
        if not self.config.guard.enabled:
            return None
        prompt = next((t.text for t in reversed(item.conversation) if t.role == "user"), None)
        return self.guard.check(item.response, prompt)

    def _judge_all(
        self,
        tasks: list[JudgeTask],
        deadline: Deadline,
        stats: CallStats,
        progress: Progress | None,
    ) -> dict[str, Outcomes]:
        outcomes: dict[str, Outcomes] = self.caller.cached(tasks, stats)
        pending = [t for t in tasks if t.key not in outcomes]
        total = len(tasks)
        if progress:
            progress(len(outcomes), total)
        if not pending:
            return outcomes
        by_key = {t.key: t for t in pending}
        jobs = [(t.key, partial(self.caller.judge, t, deadline, stats)) for t in pending]
        workers = min(self.config.runtime.concurrency, len(pending))
        # Calls still running at the deadline are abandoned, not awaited: the batch is
        # answered now. Their threads are daemons, so a CLI process exits without waiting
        # for their HTTP reads to time out; calls not started yet are dropped.
        for key, result in _run_on_daemons(jobs, workers, deadline):
            outcomes[key] = _outcomes(result, by_key[key])
            if progress:
                progress(len(outcomes), total)
        self.caller.store(pending, outcomes)
        late = Unscored(reason="deadline", detail="no verdict before the Lambda deadline")
        for task in pending:
            outcomes.setdefault(task.key, {r.name: late for r in task.rubrics})
        return outcomes

    def _assemble(
        self,
        samples: list[Sample],
        guarded: dict[int, str],
        plans: dict[int, Plan],
        outcomes: dict[str, Outcomes],
    ) -> list[SampleResult]:
        floor = self.config.output.min
        results: list[SampleResult] = []
        combined: list[float | None] = []
        for s in samples:
            if s.problem is not None:
                log.warning("malformed sample %s (index %d): %s", s.id, s.index, s.problem)
                results.append(SampleResult(s.id, 0.0, malformed=s.problem, unscored=True))
                combined.append(None)
                continue
            if s.index in guarded:
                results.append(SampleResult(s.id, floor, guarded=guarded[s.index]))
                combined.append(floor)
                continue
            plan = plans[s.index]
            own = plan.outcomes(outcomes)
            checklist = plan.checklist(own, self.config.sample_rubric.partial)
            dims = [self._plan_dimension(plan, name, own, checklist) for name in plan.dimensions]
            if any(isinstance(o, Unscored) and o.reason == "refused" for o in own.values()):
                refused = self.config.refused_reward()
                results.append(SampleResult(s.id, refused, dims, refused=True))
                combined.append(refused)
                continue
            c = combine(dims, self.config)
            results.append(
                SampleResult(
                    s.id,
                    c.reward if c.reward is not None else 0.0,
                    dims,
                    unscored=c.reward is None,
                    gate=c.gate,
                    checklist=checklist,
                )
            )
            combined.append(c.reward)
        filled = fill_unscored(combined, [s.group for s in samples], self.config)
        for result, reward in zip(results, filled, strict=True):
            result.reward = reward
            result.stale_calibration = len(self.stale_calibration)
        return results

    def _plan_dimension(
        self,
        plan: Plan,
        name: str,
        own: dict[str, Outcome],
        checklist: ChecklistResult | None,
    ) -> Dimension:
        """One dimension's normalised score (an explicit checklist's comes from its criteria)."""
        if name == SAMPLE_RUBRIC and checklist is not None:
            score = checklist.score
            return Dimension(name, score.score, None, score.reason or None)
        outcome = own[name]
        rubric = plan.own_rubric if name == SAMPLE_RUBRIC else self.rubrics[name]
        if isinstance(outcome, Verdict) and rubric is not None:
            return Dimension(name, self.to_unit(rubric, outcome.score), outcome.score)
        assert isinstance(outcome, Unscored)
        return Dimension(name, None, None, f"{outcome.reason}: {outcome.detail}")


def _run_on_daemons(
    jobs: Sequence[tuple[str, Callable[[], T]]], workers: int, deadline: Deadline
) -> Iterator[tuple[str, T | Exception]]:
    """Run ``jobs`` on ``workers`` daemon threads; yield (name, result or error) as each ends.

    Stops yielding at the deadline. One completion queue, so waiting costs O(1) per job
    (``concurrent.futures.wait`` re-arms every pending future on each call: O(n) per job).
    ThreadPoolExecutor's threads are joined at interpreter exit, so a CLI run against a
    hanging judge would print its answer and then wait out every read timeout; daemon
    threads do not hold the process.
    """
    todo: SimpleQueue[tuple[str, Callable[[], T]]] = SimpleQueue()
    done: SimpleQueue[tuple[str, T | Exception]] = SimpleQueue()
    stop = threading.Event()
    for job in jobs:
        todo.put(job)

    def work() -> None:
        while not stop.is_set():
            try:
                name, job = todo.get_nowait()
            except Empty:
                return
            try:
                done.put((name, job()))
            except Exception as exc:
                done.put((name, exc))

    for n in range(workers):
        threading.Thread(target=work, name=f"judge-{n}", daemon=True).start()
    try:
        left = len(jobs)
        while left:
            remaining = deadline.remaining()
            if remaining <= 0:
                return
            try:
                yield done.get(timeout=min(remaining, SILENCE_WARNING_S))
                left -= 1
            except Empty:
                if deadline.remaining() > 0:  # silence, not the deadline: say so, keep waiting
                    log.warning(
                        "no answer from the judge for %.0f s (%d calls waiting)",
                        SILENCE_WARNING_S,
                        left,
                    )
    finally:
        stop.set()


def make_guard(config: RewardConfig) -> Guard:
    """The guard for ``config``: the bundled lexicon plus the config's phrases and file."""
    settings = config.guard
    phrases = bundled_phrases()
    if settings.lexicon:
        phrases += load_lexicon((config.base_dir / settings.lexicon).resolve())
    phrases += tuple(Phrase(core(p), p, "config") for p in settings.extra_phrases if core(p))
    return Guard(phrases, settings.extra_patterns, settings.max_chars, settings.echo)


def _outcomes(result: Outcomes | Exception, task: JudgeTask) -> Outcomes:
    if not isinstance(result, Exception):
        return result
    log.error("judge call crashed: %r", result)
    crashed = Unscored(reason="judge_error", detail=f"internal error: {result!r}"[:300])
    return {r.name: crashed for r in task.rubrics}
