"""Screening before judging: the rule guard, the length limit, and the substance check.

A response the screen flags is floored without a judge. The rules run on every sample; the
substance check asks a cheap model about the short responses the rules let through (one
concurrent batch of calls, cached and de-duplicated), and its doubt never floors.
"""

from __future__ import annotations

import logging

from judge.caller import CallStats, JudgeTask
from judge.checklist import SampleRubric, parse_sample_rubric
from judge.config import RewardConfig
from judge.contract import Sample
from judge.deadline import Deadline
from judge.errors import JudgeError
from judge.guard import Guard, Phrase, bundled_phrases, core, load_lexicon
from judge.prompt import JudgeInput, judged_size
from judge.run import Runner
from judge.substance import SUBSTANCE, SubstanceCheck, SubstanceCounts
from judge.substance import flag as substance_flag
from judge.verdict import Unscored

log = logging.getLogger("judge")


def make_guard(config: RewardConfig) -> Guard:
    """The guard for ``config``: the bundled lexicon plus the config's phrases and file."""
    settings = config.guard
    phrases = bundled_phrases()
    if settings.lexicon:
        phrases += load_lexicon((config.base_dir / settings.lexicon).resolve())
    phrases += tuple(Phrase(core(p), p, "config") for p in settings.extra_phrases if core(p))
    return Guard(phrases, settings.extra_patterns, settings.max_chars, settings.echo)


def guard_flag(config: RewardConfig, guard: Guard, item: JudgeInput) -> str | None:
    """The guard's flag for ``item`` (None when the guard is off or lets it through)."""
    if not config.guard.enabled:
        return None
    users = [n for n, t in enumerate(item.conversation) if t.role == "user"]
    last = users[-1] if users else None
    prompt = item.conversation[last].text if last is not None else None
    # The response may echo any other user turn or the system prompt as well.
    context = [
        t.text
        for n, t in enumerate(item.conversation)
        if n != last and t.role in ("user", "system")
    ]
    if (flag := guard.check(item.response, prompt, context)) is not None:
        return flag
    # The judge reads the text with a marker per line and per removed tag: a response
    # of removable tags must not grow past the limit on the way to the judge (a call
    # over the context fails, and a failed call is unscored, not floored).
    seen = judged_size(item.response, config.judge.spotlight)
    limit = config.guard.max_chars
    if seen > limit:
        return f"too_long: {seen} characters as the judge sees them (limit {limit})"
    return None


def own_rubric(config: RewardConfig, sample: Sample) -> SampleRubric | None:
    """The sample's own rubric, parsed (``ValueError``: bad rubric data)."""
    if not config.sample_rubric.enabled or sample.rubric_data is None:
        return None
    place, value = sample.rubric_data
    return parse_sample_rubric(place, value, config.sample_rubric)


def substance_flags(
    check: SubstanceCheck,
    items: dict[int, JudgeInput],
    runner: Runner,
    deadline: Deadline,
    stats: CallStats,
    counts: SubstanceCounts,
) -> dict[int, str]:
    """The guarded flags of short responses the substance model finds empty.

    One concurrent batch of calls (cached, deduplicated) for every short response the
    rules passed. A failed call leaves its response to the judges: counted, never floored.
    """
    asked: dict[int, JudgeTask] = {}
    for i, item in items.items():
        if (task := _task(check, item, i)) is not None:
            asked[i] = task
    if not asked:
        return {}
    unique = list({t.key: t for t in asked.values()}.values())
    calls, hits = stats.calls, stats.cache_hits
    outcomes = runner.with_callers([check.caller]).judge_all(unique, deadline, stats)
    counts.asked += len(asked)
    counts.calls += stats.calls - calls
    counts.cache_hits += stats.cache_hits - hits
    flags: dict[int, str] = {}
    failures: list[Unscored] = []
    for i, task in asked.items():
        outcome = outcomes[task.key][SUBSTANCE.name]
        if isinstance(outcome, Unscored):
            failures.append(outcome)
        elif (flag := substance_flag(outcome)) is not None:
            flags[i] = flag
    counts.floored += len(flags)
    counts.failed += len(failures)
    if failures:
        log.warning(
            "substance check %s: %d of %d responses without an answer, left to the judges (%s: %s)",
            check.caller.settings.model_id,
            len(failures),
            len(asked),
            failures[0].reason,
            failures[0].detail[:200],
        )
    return flags


def _task(check: SubstanceCheck, item: JudgeInput, i: int) -> JudgeTask | None:
    """The substance task of a short response (None: long, or it cannot be rendered)."""
    try:
        return check.task(item) if check.wanted(item.response) else None
    except JudgeError:
        raise
    except Exception:  # a hostile response the check cannot render goes to the judges
        log.exception("sample %d: substance check skipped", i)
        return None
