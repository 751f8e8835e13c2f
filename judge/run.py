"""Run judge tasks: outcomes from the shared cache, else from concurrent calls.

Anything that turns a task into outcomes is a ``Caller``: the Bedrock caller
(``judge.caller.JudgeCaller``), the substance check's, and the batch job's replay of its
output records. This module owns the concurrency, the deadline, and the second chance of a
response that a group call refused or left unscored (judged alone).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from queue import Empty, SimpleQueue
from typing import Protocol, TypeVar

from judge.caller import CallStats, JudgeTask, Outcomes
from judge.deadline import Deadline
from judge.plan import Plan, Slot, reference_view
from judge.prompt import JudgeInput
from judge.tasks import TaskMaker
from judge.verdict import Outcome, Unscored

log = logging.getLogger("judge")
T = TypeVar("T")
# A judge that accepts connections and never answers is silent until the read timeout (60 s,
# per retry): the wait says so every this many seconds instead of printing nothing.
SILENCE_WARNING_S = 20.0

Progress = Callable[[int, int], None]


class Caller(Protocol):
    """Turns tasks into outcomes: the cache first (``cached``), then one call per task."""

    def cached(self, tasks: list[JudgeTask], stats: CallStats) -> dict[str, Outcomes]:
        """The tasks whose every answer is known without a call."""
        ...

    def judge(self, task: JudgeTask, deadline: Deadline, stats: CallStats) -> Outcomes:
        """One task's outcomes (never raises for the judge's own failures)."""
        ...

    def store(self, tasks: list[JudgeTask], outcomes: dict[str, Outcomes]) -> None:
        """Keep the verdicts of ``tasks`` (called once, in the run's own thread)."""
        ...


@dataclass(frozen=True)
class Runner:
    """Runs tasks on their judges' callers (by ``task.member``), ``concurrency`` at a time."""

    callers: Sequence[Caller]
    concurrency: int

    def judge_all(
        self,
        tasks: list[JudgeTask],
        deadline: Deadline,
        stats: CallStats,
        progress: Progress | None = None,
        hits: set[str] | None = None,
    ) -> dict[str, Outcomes]:
        """Every task's outcomes: from the shared cache, else called concurrently.

        ``hits`` collects the keys the cache answered (for ``--details``).
        """
        callers = self.callers
        outcomes: dict[str, Outcomes] = callers[0].cached(tasks, stats)  # one shared cache
        if hits is not None:
            hits.update(outcomes)
        pending = [t for t in tasks if t.key not in outcomes]
        total = len(tasks)
        if progress:
            progress(len(outcomes), total)
        if not pending:
            return outcomes
        by_key = {t.key: t for t in pending}
        jobs = [(t.key, partial(callers[t.member].judge, t, deadline, stats)) for t in pending]
        workers = min(self.concurrency, len(pending))
        # Calls still running at the deadline are abandoned, not awaited: the batch is
        # answered now. Their threads are daemons, so a CLI process exits without waiting
        # for their HTTP reads to time out; calls not started yet are dropped.
        for key, result in run_on_daemons(jobs, workers, deadline):
            outcomes[key] = _outcomes(result, by_key[key])
            if progress:
                progress(len(outcomes), total)
        callers[0].store(pending, outcomes)
        late = Unscored(reason="deadline", detail="no verdict before the Lambda deadline")
        for task in pending:
            outcomes.setdefault(task.key, {r.name: late for r in task.rubrics})
        return outcomes

    def with_callers(self, callers: Sequence[Caller]) -> Runner:
        """The same concurrency on other callers (the substance check's)."""
        return Runner(callers, self.concurrency)


def group_failures_alone(
    plans: dict[int, Plan],
    items: dict[int, JudgeInput],
    outcomes: dict[str, Outcomes],
    maker: TaskMaker,
) -> list[JudgeTask]:
    """Re-plan, pointwise, the responses a group call refused or left unscored.

    In a group call one response can cost its peers their verdicts: a content filter it
    trips refuses the whole call, and text in it can talk the judge out of answering for
    the others (left out, or unreadable). Judged alone, each response answers for
    itself: only the response that trips the filter is refused, and only one that breaks
    the judge's answer on its own is unreadable (and gated as such). Failed calls and the
    deadline are not retried here. Returns the new tasks; their slots replace the group's.
    """
    new: dict[str, JudgeTask] = {}
    for index, plan in plans.items():
        for rubric in plan.grouped:
            slots = plan.tasks.get(rubric.name, [])
            failed = {
                s.member
                for s in slots
                if s.task.grouped and _answer_failed(outcomes[s.task.key][s.answer])
            }
            if not failed:
                continue
            kept = [s for s in slots if s.member not in failed]
            view = reference_view([rubric], items[index])
            for member in sorted(failed):
                task = maker.task(rubric, view, member=member)
                kept.append(Slot(new.setdefault(task.key, task), rubric.name, member))
            plan.tasks[rubric.name] = kept
    if new:
        log.warning(
            "%d response(s) refused or left unscored in a group call: judging them alone",
            len(new),
        )
    return list(new.values())


def failed_calls(
    tasks: list[JudgeTask], outcomes: dict[str, Outcomes], model_ids: Sequence[str]
) -> dict[str, int]:
    """Calls per judge that gave no usable answer, each judge's first failure logged.

    Errors, the deadline, and answers that could not be read (all of a call's verdicts
    unparseable or off the scale). A panel shrinks past a failing judge without losing
    the sample, so a judge that fails every call (a wrong model id, no access, answers
    that break the schema) would otherwise go unnoticed.
    """
    failed: dict[int, list[Unscored]] = {}
    total: dict[int, int] = {}
    for task in tasks:
        total[task.member] = total.get(task.member, 0) + 1
        errors = [o for o in outcomes[task.key].values() if isinstance(o, Unscored)]
        if errors and len(errors) == len(task.rubrics) and errors[0].reason != "refused":
            failed.setdefault(task.member, []).append(errors[0])
    for member, errors in failed.items():
        log.warning(
            "judge %s: %d of %d calls failed (%s: %s)",
            model_ids[member],
            len(errors),
            total[member],
            errors[0].reason,
            errors[0].detail[:200],
        )
    return {model_ids[m]: len(e) for m, e in sorted(failed.items())}


def run_on_daemons(
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
        yield from _collect(done, len(jobs), deadline)
    finally:
        stop.set()


def _collect(
    done: SimpleQueue[tuple[str, T | Exception]], left: int, deadline: Deadline
) -> Iterator[tuple[str, T | Exception]]:
    """Each finished job as it ends, until ``left`` have or the deadline passes."""
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


def _answer_failed(outcome: Outcome) -> bool:
    """A group answer that gave this response no verdict though the call itself worked."""
    return isinstance(outcome, Unscored) and (
        outcome.reason == "refused" or outcome.response_caused
    )


def _outcomes(result: Outcomes | Exception, task: JudgeTask) -> Outcomes:
    if not isinstance(result, Exception):
        return result
    log.error("judge call crashed: %r", result)
    crashed = Unscored(reason="judge_error", detail=f"internal error: {result!r}"[:300])
    return {r.name: crashed for r in task.rubrics}
