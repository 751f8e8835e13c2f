"""``judge calibrate``: judge every anchor, fit a map on a split, report held-out agreement."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from judge.artefact import (
    ARTEFACT_FORMAT,
    Artefact,
    HumanScale,
    artefact_path,
    inference_fingerprint,
)
from judge.calibration.anchors import Anchor, load_anchors
from judge.calibration.fit import fit_map, fold_count, select_map
from judge.calibration.length import length_bias, partial_residuals
from judge.calibration.options import CalibrationOptions
from judge.calibration.probes import run_probes
from judge.calibration.report import Miss, report_warnings, worst, write_report
from judge.calibration.stats import METRICS, Array, bootstrap, human_agreement, spearman
from judge.deadline import Deadline
from judge.digest import sha256_file
from judge.errors import JudgeError, SourceError
from judge.maps import ScoreMap
from judge.pipeline import Evaluator, Progress
from judge.rubric import Rubric, load_rubrics
from judge.verdict import Outcome, Unscored, Verdict

MIN_ANCHORS = 8  # fewer cannot be split, cross-validated and reported on


class CalibrationFailed(JudgeError):
    """Too few anchor judgements succeeded to fit a map worth shipping; nothing was written."""


@dataclass
class CalibrationResult:
    """What a run produced.

    When a gate (``min_spearman``) failed, ``rejected`` says why and ``artefact_path`` is in
    the report folder, not where the Lambda (and ``judge package``) looks for maps.
    """

    artefact: Artefact
    artefact_path: Path
    report_path: Path
    rejected: str = ""
    # Held-out anchors: id -> (calibrated prediction, human label), for a panel's report.
    held: dict[str, tuple[float, float]] = field(default_factory=dict)
    # The report's warnings (``report_warnings``), for the console too.
    warnings: list[str] = field(default_factory=list)


def split(n: int, holdout: float, seed: int) -> tuple[Array, Array]:
    """Reproducible (calibration, held-out) index split; both sides get at least 2 items."""
    order = np.random.default_rng(seed).permutation(n)
    n_hold = min(n - 2, max(2, round(holdout * n)))
    return np.sort(order[n_hold:]), np.sort(order[:n_hold])


def anchor_scale(rubric: Rubric, human_scale: tuple[float, float] | None) -> tuple[float, float]:
    """The scale the anchors' labels are on: ``human_scale``, else the rubric's."""
    if human_scale is None:
        return (float(rubric.scale_min), float(rubric.scale_max))
    return (float(human_scale[0]), float(human_scale[1]))


def select_anchors(
    evaluator: Evaluator, rubric_name: str, anchors_path: Path, options: CalibrationOptions
) -> tuple[Rubric, list[Anchor]]:
    """The rubric and the anchors a run judges (checked; ``max_items`` drawn by ``seed``).

    Shared with the batch job path, which plans the same judgements without judging.
    """
    human_scale, max_items = options.human_scale, options.max_items
    rubric = load_rubrics(evaluator.config.path("rubrics"), [rubric_name])[rubric_name]
    if human_scale is None:
        scale = anchor_scale(rubric, None)
        anchors = load_anchors(
            anchors_path,
            rubric_name,
            scale,
            scale_name="the rubric's scale",
            scale_fix="correct those labels, or pass --human-scale MIN MAX for the scale they use",
        )
    else:
        if not human_scale[0] < human_scale[1]:
            raise ValueError(f"human_scale {human_scale}: MIN must be below MAX")
        scale = (float(human_scale[0]), float(human_scale[1]))
        anchors = load_anchors(
            anchors_path,
            rubric_name,
            scale,
            scale_name="--human-scale",
            scale_fix="correct those labels, or widen --human-scale",
        )
    _check_versions(anchors_path, rubric, anchors, options.keep_other_versions)
    if len(anchors) < MIN_ANCHORS:
        raise SourceError(
            anchors_path,
            f"{len(anchors)} item(s) labelled for {rubric_name}; calibration needs at least "
            f"{MIN_ANCHORS}",
            fix=f"add {MIN_ANCHORS - len(anchors)} or more items labelled for {rubric_name}",
        )
    if max_items is not None and max_items < len(anchors):
        if max_items < MIN_ANCHORS:
            raise ValueError(f"max_items {max_items}: calibration needs at least {MIN_ANCHORS}")
        keep = np.sort(np.random.default_rng(options.seed).permutation(len(anchors))[:max_items])
        anchors = [anchors[i] for i in keep]
    return rubric, anchors


def anchor_versions(rubric: Rubric, anchors: list[Anchor]) -> dict[str, int]:
    """How many anchors were labelled under this rubric version, another one, or an unknown one.

    An anchor without a version (labelled before ``judge label import`` recorded one, as
    the bundled sets) counts as ``unversioned`` and is accepted: nothing says it is stale.
    """
    current = sum(a.version == rubric.content_hash for a in anchors)
    unversioned = sum(not a.version for a in anchors)
    return {
        "current": current,
        "other": len(anchors) - current - unversioned,
        "unversioned": unversioned,
    }


def _check_versions(path: Path, rubric: Rubric, anchors: list[Anchor], keep: bool) -> None:
    """Refuse anchors labelled under another rubric version, unless told to keep them.

    Graders' criteria move with the rubric (labels belong to the version they were made
    under), so a map fitted on another version's labels would be fitted to another question.
    """
    counts = anchor_versions(rubric, anchors)
    if counts["other"] and not keep:
        raise SourceError(
            path,
            f"{counts['other']} of {len(anchors)} anchor(s) for {rubric.name} were labelled "
            f"under another version of the rubric (this one is {rubric.content_hash[:12]})",
            fix="relabel them under this version (judge label export / import), or keep them "
            "with judge calibrate --keep-other-versions (the report counts them)",
        )


def _version_warnings(counts: dict[str, int]) -> list[str]:
    """The console's lines about the anchors' rubric versions (the artefact has the counts)."""
    out = []
    if counts["other"]:
        out.append(
            f"{counts['other']} anchor(s) labelled under another version of the rubric were "
            "kept (--keep-other-versions)"
        )
    if counts["unversioned"] and (counts["current"] or counts["other"]):
        out.append(
            f"{counts['unversioned']} anchor(s) carry no rubric version (labelled before "
            "versions were recorded); accepted as labelled under this one"
        )
    return out


@dataclass
class _Judged:
    """The anchors' verdicts: those with at least one, their mean scores and labels."""

    anchors: list[Anchor]
    scored: list[tuple[Anchor, list[int]]]
    given: list[tuple[Verdict, ...]]  # each scored anchor's verdicts, reasoning included
    judge: Array
    human: Array


@dataclass
class _Fit:
    """The split, the chosen map and the held-out predictions (raw and calibrated)."""

    cal: Array
    held: Array
    score_map: ScoreMap
    cv: dict[str, float]
    raw_pred: Array
    cal_pred: Array


def calibrate(
    evaluator: Evaluator,
    rubric_name: str,
    anchors_path: Path,
    *,
    out: Path,
    options: CalibrationOptions | None = None,
    progress: Progress | None = None,
    member: int = 0,
) -> CalibrationResult:
    """Run a calibration and write ``<out>/<rubric>.json`` and ``<out>/reports/<rubric>/``.

    The rubric is judged as the config judges it (pointwise, combined or in groups). With a
    panel, ``member`` is the judge calibrated; its files are ``<rubric>@<model>.json`` and
    ``reports/<rubric>@<model>/`` (each judge gets its own map; see ``calibrate_panel``).

    Labels must lie on the rubric's scale, or on ``options.human_scale`` when given. Raises
    ``CalibrationFailed`` (nothing written) when every anchor judgement, or more than
    ``max_unscored`` of them, came back unscored. Below ``min_spearman`` the report is written
    but the map is not put where the Lambda reads it (``rejected`` says why). The report
    lists the ``worst_items`` anchors the judge got most wrong, with its reasoning.
    """
    opts = options or CalibrationOptions()
    rubric, anchors = select_anchors(evaluator, rubric_name, anchors_path, opts)
    judged = _judge_anchors(evaluator, rubric, anchors, opts, progress, member)
    fit = _fit(judged, rubric, opts)
    fit.score_map = _with_length(fit.score_map, judged, opts)
    metrics = _metrics(evaluator, rubric, anchors_path, judged, fit, opts, member)
    spearman_held = metrics["holdout"]["calibrated"]["spearman"]
    rejected = ""
    if opts.min_spearman is not None and not spearman_held >= opts.min_spearman:  # NaN too
        rejected = (
            f"held-out Spearman {spearman_held:.3f} is below --min-spearman {opts.min_spearman:g}"
        )
        metrics["rejected"] = rejected
    metrics["anchor_versions"] = anchor_versions(rubric, anchors)
    artefact = _artefact(evaluator, rubric, anchors_path, fit, metrics, member)
    result = _write(evaluator, rubric, out, judged, fit, artefact, opts, rejected)
    result.warnings.extend(_version_warnings(metrics["anchor_versions"]))
    return result


def _judge_anchors(
    evaluator: Evaluator,
    rubric: Rubric,
    anchors: list[Anchor],
    options: CalibrationOptions,
    progress: Progress | None,
    member: int,
) -> _Judged:
    """Judge every anchor ``draws`` times; fail when too few got a verdict."""
    outcomes, _ = evaluator.judge_items(
        rubric, [a.item for a in anchors], options.draws, Deadline.never(), progress, member
    )
    _check_unscored(outcomes, options.max_unscored)
    scored: list[tuple[Anchor, list[int]]] = []
    given: list[tuple[Verdict, ...]] = []
    for anchor, row in zip(anchors, outcomes, strict=True):
        verdicts = tuple(o for o in row if isinstance(o, Verdict))
        if verdicts:
            scored.append((anchor, [v.score for v in verdicts]))
            given.append(verdicts)
    if len(scored) < MIN_ANCHORS:
        raise CalibrationFailed(
            f"only {len(scored)} of {len(anchors)} anchors got a verdict, a map needs "
            f"{MIN_ANCHORS} ({_unscored(outcomes)}); nothing written"
        )
    judge = np.array([float(np.mean(v)) for _, v in scored])
    human = np.array([a.label for a, _ in scored])
    return _Judged(anchors, scored, given, judge, human)


def _fit(judged: _Judged, rubric: Rubric, options: CalibrationOptions) -> _Fit:
    """Split, choose a map by cross-validation on one side, predict the other."""
    scale = anchor_scale(rubric, options.human_scale)
    judge_scale = anchor_scale(rubric, None)
    judge, human, seed = judged.judge, judged.human, options.seed
    cal, held = split(len(judged.scored), options.holdout, seed)
    score_map, cv = select_map(
        judge[cal], human[cal], judge_scale, scale, folds=options.folds, seed=seed
    )
    identity = fit_map("identity", judge[cal], human[cal], judge_scale, scale)
    raw_pred = np.array([identity.apply(float(x)) for x in judge[held]])
    cal_pred = np.array([score_map.apply(float(x)) for x in judge[held]])
    return _Fit(cal, held, score_map, cv, raw_pred, cal_pred)


def _chars(judged: _Judged) -> Array:
    """Each scored anchor's response length, in characters."""
    return np.array([len(a.item.response) for a, _ in judged.scored], dtype=float)


def _with_length(score_map: ScoreMap, judged: _Judged, options: CalibrationOptions) -> ScoreMap:
    """The map with the judge's length preference beyond the humans' (``calibration.length``)."""
    bias = length_bias(
        judged.judge,
        judged.human,
        _chars(judged),
        (score_map.x_min, score_map.x_max),
        rounds=options.bootstrap_rounds,
        seed=options.seed,
    )
    return score_map.model_copy(update={"length": bias})


def _metrics(
    evaluator: Evaluator,
    rubric: Rubric,
    anchors_path: Path,
    judged: _Judged,
    fit: _Fit,
    options: CalibrationOptions,
    member: int,
) -> dict[str, Any]:
    """Every figure the artefact and the report carry (same keys, same order as before)."""
    scale, levels, seed = anchor_scale(rubric, options.human_scale), rubric.scores, options.seed
    rounds, scored, judge, human = (
        options.bootstrap_rounds,
        judged.scored,
        judged.judge,
        judged.human,
    )
    held_human = human[fit.held]
    lengths = np.array([len(a.item.response) for a, _ in scored], dtype=float)

    def boot(pred: Array) -> dict[str, Any]:
        return _flat(bootstrap(pred, held_human, scale, levels, rounds=rounds, seed=seed))

    return {
        "holdout": {"raw": boot(fit.raw_pred), "calibrated": boot(fit.cal_pred)},
        "model_id": evaluator.members[member].model_id,
        "mode": evaluator.config.mode(rubric.name),
        "endpoint": evaluator.endpoint,
        "anchors_file": str(anchors_path),
        "items": len(judged.anchors),
        "unscored_items": len(judged.anchors) - len(scored),
        "calibration_items": len(fit.cal),
        "holdout_items": len(fit.held),
        "seed": seed,
        "bootstrap_rounds": rounds,
        "draws": options.draws,
        "map_kind": fit.score_map.kind,
        "cv_mae": fit.cv,
        "cv_folds": fold_count(len(fit.cal), options.folds),
        "human_agreement": human_agreement([a.ratings for a in judged.anchors]),
        "self_consistency": _consistency([v for _, v in scored]) if options.draws > 1 else {},
        "length_bias": {"judge": spearman(judge, lengths), "human": spearman(human, lengths)},
        # the judge's preference beyond the humans' (the map's LengthBias): None, not measured
        "length_excess": None if (b := fit.score_map.length) is None else b.model_dump(),
        "distribution": _distribution([v for _, vs in scored for v in vs], levels),
        "probes": run_probes(
            evaluator,
            rubric,
            [scored[i][0] for i in fit.held],
            [float(judge[i]) for i in fit.held],
            items=options.probe_items,
            seed=seed,
            member=member,
        ),
    }


def _artefact(
    evaluator: Evaluator,
    rubric: Rubric,
    anchors_path: Path,
    fit: _Fit,
    metrics: dict[str, Any],
    member: int,
) -> Artefact:
    """The calibration file the Lambda reads: the map and what it was fitted for."""
    settings = evaluator.members[member]
    mode = evaluator.config.mode(rubric.name)
    scale = fit.score_map.y_min, fit.score_map.y_max
    return Artefact(
        format=ARTEFACT_FORMAT,
        rubric=rubric.name,
        rubric_hash=rubric.content_hash,
        template_hash=evaluator.renderer.hash_for(mode),
        model_id=settings.model_id,
        inference=inference_fingerprint(settings, mode),
        anchors_file=anchors_path.name,
        anchors_hash=sha256_file(anchors_path),
        human_scale=HumanScale(min=scale[0], max=scale[1]),
        map=fit.score_map,
        metrics=metrics,
        endpoint=evaluator.endpoint,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _write(
    evaluator: Evaluator,
    rubric: Rubric,
    out: Path,
    judged: _Judged,
    fit: _Fit,
    artefact: Artefact,
    options: CalibrationOptions,
    rejected: str,
) -> CalibrationResult:
    """Write the report, then the map where the Lambda reads it (rejected: beside the report)."""
    named = artefact.model_id if evaluator.config.judge.panel else None
    path = artefact_path(out, rubric.name, named)
    reports = out / "reports" / path.stem
    held_set = {int(i) for i in fit.held}
    predictions = (fit.score_map.apply(float(x)) for x in judged.judge)
    misses = [
        Miss(a.id, a.line, a.item.conversation, a.item.response, a.label, v, p, i in held_set)
        for i, ((a, _), v, p) in enumerate(
            zip(judged.scored, judged.given, predictions, strict=True)
        )
    ]
    held_human = judged.human[fit.held]
    judge_scale = (fit.score_map.x_min, fit.score_map.x_max)
    residual = partial_residuals(judged.judge, judged.human, _chars(judged), judge_scale)
    report = write_report(
        reports,
        rubric.name,
        judged.judge[fit.held],
        held_human,
        fit.score_map,
        rubric.scores,
        artefact.metrics,
        worst(misses, options.worst_items),
        length_points=None if residual is None else (_chars(judged), residual),
    )
    warned = report_warnings(artefact.metrics)
    held_ids = {
        judged.scored[int(i)][0].id: (float(p), float(h))
        for i, p, h in zip(fit.held, fit.cal_pred, held_human, strict=True)
    }
    text = json.dumps(_json_safe(artefact.model_dump()), indent=1) + "\n"
    kept = reports / "rejected.json"
    if rejected:  # keep it for inspection, out of reach of the Lambda and `judge package`
        kept.write_text(text, encoding="utf-8")
        return CalibrationResult(artefact, kept, report, rejected, held_ids, warned)
    kept.unlink(missing_ok=True)
    path.write_text(text, encoding="utf-8")
    return CalibrationResult(artefact, path, report, held=held_ids, warnings=warned)


@dataclass
class PanelCalibration:
    """Each panel judge's calibration, and the panel's agreement on their common held-out set."""

    members: list[tuple[str, CalibrationResult]]
    summary: dict[str, Any]
    report_path: Path


def calibrate_panel(
    evaluator: Evaluator,
    rubric_name: str,
    anchors_path: Path,
    *,
    out: Path,
    options: CalibrationOptions | None = None,
    progress: Progress | None = None,
) -> PanelCalibration:
    """Calibrate every judge of the panel, then measure the panel against the humans.

    Each judge gets its own map (judges differ in harshness, so each is mapped before they
    are combined, as the Lambda does). The panel's agreement is measured on the anchors
    held out for every judge, with the judges' calibrated predictions combined by the
    config's aggregation (``majority`` is measured as the median: a vote needs the judge's
    scale, the calibrated predictions are on the humans').
    """
    members: list[tuple[str, CalibrationResult]] = []
    for i, judge in enumerate(evaluator.members):
        try:
            result = calibrate(
                evaluator,
                rubric_name,
                anchors_path,
                out=out,
                options=options,
                progress=progress,
                member=i,
            )
        except CalibrationFailed as exc:  # all judges' maps or none: remove the ones written
            for _, done in members:
                done.artefact_path.unlink(missing_ok=True)
                shutil.rmtree(done.report_path.parent, ignore_errors=True)
            raise CalibrationFailed(f"judge {judge.model_id}: {exc}") from None
        members.append((judge.model_id, result))
    common = sorted(set.intersection(*(set(r.held) for _, r in members)))
    how = evaluator.config.judge.aggregation
    summary: dict[str, Any] = {"aggregation": how, "held_out_items": len(common)}
    if common:
        human = np.array([members[0][1].held[i][1] for i in common])
        preds = np.array([[r.held[i][0] for i in common] for _, r in members])
        panel = preds.mean(axis=0) if how == "mean" else np.median(preds, axis=0)
        summary["spearman"] = {
            **{model: spearman(row, human) for (model, _), row in zip(members, preds, strict=True)},
            "panel": spearman(panel, human),
        }
        summary["mae"] = {
            **{
                model: float(np.mean(np.abs(row - human)))
                for (model, _), row in zip(members, preds, strict=True)
            },
            "panel": float(np.mean(np.abs(panel - human))),
        }
    path = out / "reports" / rubric_name / "panel.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_json_safe(summary), indent=1) + "\n", encoding="utf-8")
    return PanelCalibration(members, summary, path)


def _unscored(outcomes: list[list[Outcome]]) -> str:
    """``K of N unscored: REASON``, with the most frequent reason (the first thing to fix)."""
    total = sum(len(row) for row in outcomes)
    reasons = Counter(
        f"{o.reason}: {o.detail[:160]}" if o.detail else o.reason
        for row in outcomes
        for o in row
        if isinstance(o, Unscored)
    )
    failed = sum(reasons.values())
    if not reasons:
        return f"0 of {total} unscored"
    reason, count = reasons.most_common(1)[0]
    most = "" if count == failed else f", {count} of them"
    return f"{failed} of {total} unscored{most}: {reason}"


def _check_unscored(outcomes: list[list[Outcome]], max_unscored: float) -> None:
    """Stop when every anchor judgement, or more than ``max_unscored`` of them, failed.

    A map fitted on the few anchors a flaky judge managed would be fitted on a biased
    sample (the unscored ones are rarely random), so a CI gate can demand a ceiling.
    """
    total = sum(len(row) for row in outcomes)
    failed = sum(isinstance(o, Unscored) for row in outcomes for o in row)
    if total and failed == total:
        raise CalibrationFailed(f"no judgement succeeded ({_unscored(outcomes)}); nothing written")
    if total and failed / total > max_unscored:
        raise CalibrationFailed(
            f"{failed / total:.0%} of anchor judgements unscored, above --max-unscored "
            f"{max_unscored:g} ({_unscored(outcomes)}); nothing written"
        )


def _flat(boot: dict[str, dict[str, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in METRICS:
        out[name] = boot[name]["value"]
        out[f"{name}_ci"] = [boot[name]["low"], boot[name]["high"]]
    return out


def _consistency(rows: list[list[int]]) -> dict[str, float]:
    multi = [r for r in rows if len(r) > 1]
    if not multi:
        return {}
    return {
        "mean_std": float(np.mean([np.std(r) for r in multi])),
        "all_agree": float(np.mean([len(set(r)) == 1 for r in multi])),
    }


def _distribution(scores: list[int], levels: list[int]) -> dict[str, Any]:
    counts = {str(v): scores.count(v) for v in levels}
    n = max(1, len(scores))
    return {
        "counts": counts,
        "floor": scores.count(levels[0]) / n,
        "ceiling": scores.count(levels[-1]) / n,
    }


def _json_safe(value: Any) -> Any:
    """NaN is not JSON: write null instead."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value
