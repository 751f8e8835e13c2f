"""One dimension's score from its judgements: a group's orders, then a panel's judges.

Each judge's verdicts are mapped to 0..1 through that judge's own calibration map first
(judges differ in harshness), then combined. A judge counts only when every order of its
judgement gave a verdict: a response that talks a judge out of one order's answer gains
nothing from the other. Below the quorum of judges the dimension is unscored, with a
response-induced failure's reason first if there is one (so it still fires a gate).

Published studies find a panel of diverse judges agrees with people better than one large
judge (Verga et al., "Replacing Judges with Juries", arXiv 2404.18796), and a judge favours
responses of its own model family (self-preference): ``same_family`` warns about that.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Container, Sequence
from dataclasses import astuple, dataclass
from statistics import mean
from typing import TYPE_CHECKING

from judge.config import JudgeSettings
from judge.plan import Judgement
from judge.reduce import Vote, first_failure, has_quorum, reduce_votes
from judge.reward import Dimension, Judged
from judge.rubric import Rubric
from judge.verdict import Unscored, Verdict

if TYPE_CHECKING:
    from judge.judges import Panel

log = logging.getLogger("judge")


@dataclass(frozen=True)
class MemberScore:
    """One judge's verdicts on a dimension, across orders."""

    member: int
    unit: float  # mean over orders, each through the judge's map
    raw: float  # mean raw score over orders
    order_gap: float | None  # spread of the units across orders (None: one order)


def settle(
    name: str,
    judgements: Sequence[Judgement],
    panel: Panel,
    rubric: Rubric,
    chars: int | None = None,
) -> Dimension:
    """The dimension ``name`` from all its judgements, by the panel's aggregation and quorum.

    Each judge's verdicts go through that judge's own map for ``rubric`` (and its length
    correction for a response ``chars`` long, ``Panel.to_unit``); majority votes on the
    rubric's levels (``judge.reduce``).
    """
    settings, steps = panel.settings, rubric.scale_max - rubric.scale_min
    members = sorted({slot.member for slot, _ in judgements})
    scored: list[MemberScore] = []
    failures: list[tuple[int, Unscored]] = []
    by_order = sorted(judgements, key=lambda j: j[0].order)
    for member in members:
        mine = [o for slot, o in by_order if slot.member == member]
        failed = next((o for o in mine if isinstance(o, Unscored)), None)
        if failed is not None:
            failures.append((member, failed))
            continue
        scores = [o.score for o in mine if isinstance(o, Verdict)]
        units = [panel.to_unit(rubric, s, member, chars) for s in scores]
        gap = max(units) - min(units) if len(units) > 1 else None
        scored.append(MemberScore(member, mean(units), mean(scores), gap))
    need = settings.min_members()
    if not has_quorum(len(scored), need):
        why = _why(failures, len(scored), len(members), need, panel.model_ids)
        return Dimension(name, None, None, why)
    votes = [Vote(s.unit, s.raw) for s in scored]
    unit, raw = astuple(reduce_votes(votes, settings.aggregation, steps))
    gaps = [s.order_gap for s in scored if s.order_gap is not None]
    units = [s.unit for s in scored]
    return Dimension(
        name,
        unit,
        int(raw) if float(raw).is_integer() else raw,
        spread=round(max(units) - min(units), 9) if len(members) > 1 else None,
        order_gap=round(mean(gaps), 9) if gaps else None,
    )


def _why(
    failures: list[tuple[int, Unscored]],
    scored: int,
    members: int,
    need: int,
    ids: Sequence[str],
) -> Unscored:
    """An unscored dimension's reason (``first_failure``), plus the count for a panel."""
    if not failures:
        return Unscored(reason="judge_error", detail="no judgement was made")
    first = first_failure([u for _, u in failures])
    if members == 1:
        return first
    who = "; ".join(f"{ids[m]}: {u.reason}" for m, u in failures)
    detail = f"{scored} of {members} judges gave a verdict, quorum {need} ({who})"
    return Unscored(reason=first.reason, detail=detail)


def judged(
    judgements: Sequence[Judgement],
    panel: Panel,
    rubric: Rubric,
    cached: Container[str],
    chars: int | None = None,
) -> tuple[Judged, ...]:
    """Each judge's answer on one dimension: the data ``--details`` explains a score with.

    ``cached``: the keys of the tasks the verdict cache answered. Outcomes known without a
    call (a missing reference) have no judge and are left out: the dimension says why.
    """
    out: list[Judged] = []
    for slot, outcome in judgements:
        if not slot.task.key:
            continue
        judge, order, hit = panel.model_ids[slot.member], slot.order, slot.task.key in cached
        if isinstance(outcome, Verdict):
            unit = panel.to_unit(rubric, outcome.score, slot.member, chars)
            out.append(Judged(judge, outcome.score, unit, outcome.reasoning, hit, None, order))
        else:
            out.append(Judged(judge, None, None, "", hit, outcome, order))
    return tuple(out)


_GEO = re.compile(r"^(?:us|eu|apac|ap|global|us-gov|jp|au|ca|sa|uk|in)\.")


def model_family(model_id: str) -> str:
    """A model id's family, e.g. ``nova`` for ``us.amazon.nova-pro-v1:0`` or ``nova-lite``.

    The first run of letters of the model's name, after any ARN path (a custom model's ARN
    names its base model: ``.../custom-model/amazon.nova-lite-v1:0:300k/abc``),
    inference-profile region and provider (``amazon.``, ``anthropic.``...).
    """
    parts = model_id.lower().split("/")
    name = next((p for p in parts[1:] if "." in p.split(":")[0]), parts[-1])
    name = _GEO.sub("", name)
    name = name.split(".", 1)[1] if "." in name.split(":")[0] else name
    found = re.match(r"[a-z]+", name)
    return found.group() if found else name


def same_family(settings: JudgeSettings) -> list[str]:
    """Judges of the same family as the policy being trained (``policy_model_id``)."""
    if not settings.policy_model_id:
        return []
    policy = model_family(settings.policy_model_id)
    return [m.model_id for m in settings.members() if model_family(m.model_id) == policy]


def warn_same_family(settings: JudgeSettings) -> list[str]:
    """Log a warning per judge of the policy's family (judges favour their own family)."""
    found = same_family(settings)
    for model_id in found:
        log.warning(
            "judge %s is of the same family as the policy being trained (%s): judges tend to "
            "favour their own family's responses; prefer a judge of another family",
            model_id,
            settings.policy_model_id,
        )
    return found
