"""``judge lint``: load the config, every rubric and both templates; collect every problem.

Every problem ``judge package`` would refuse is one of them (``packaging_problems``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

from judge.artefact import load_artefact, member_slug, mismatches
from judge.checklist import Criterion, SampleRubric, criterion_rubrics
from judge.config import JudgeSettings, RewardConfig, load_config, resolve_config_path
from judge.deploy.package import packaging_problems
from judge.errors import SourceError
from judge.group import answer_rubrics
from judge.guard import load_lexicon
from judge.prompt import (
    CHECKLIST_TEMPLATE,
    COMBINED_TEMPLATE,
    GROUP_TEMPLATE,
    JudgeInput,
    PromptRenderer,
    Turn,
)
from judge.rubric import Rubric, load_rubric

_PROBE = JudgeInput((Turn("user", "Hello?"),), "Hi! How can I help?", "A greeting.")


def lint_project(config_path: str | Path | None = None) -> tuple[list[str], list[str]]:
    """Return (problems, things checked and found fine)."""
    problems: list[str] = []
    ok: list[str] = []
    try:
        config = load_config(config_path)
    except SourceError as exc:
        return [str(exc)], ok
    ok.append(f"config {resolve_config_path(config_path)}")
    rubrics: dict[str, Rubric] = {}
    rubric_dir = config.path("rubrics")
    for path in sorted(rubric_dir.glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        try:
            rubrics[path.stem] = load_rubric(path)
            ok.append(f"rubric {path}")
        except SourceError as exc:
            problems.append(str(exc))
    for name in config.rubrics:
        if not (rubric_dir / f"{name}.md").is_file():
            missing = f"no rubric file {rubric_dir / name}.md"
            fix = "create it or remove the entry"
            problems.append(str(config.source_error(("rubrics", name), missing, fix=fix)))
    try:
        renderer = PromptRenderer(config.path("prompts"))
    except SourceError as exc:
        return [*problems, str(exc)], ok
    grouped = any(config.mode(name) == "group" for name in config.rubrics)
    problems += _render_every_template(renderer, list(rubrics.values()), config.judge, grouped)
    if not problems:
        ok.append(f"templates {renderer.directory}")
    if config.guard.substance_model:
        from judge.substance import template_problems

        problems += template_problems(renderer, config.judge.spotlight)
    if config.guard.lexicon:
        try:
            load_lexicon((config.base_dir / config.guard.lexicon).resolve())
            ok.append(f"guard lexicon {config.guard.lexicon}")
        except SourceError as exc:
            problems.append(str(exc))
    problems += _stale_artefacts(config.path("calibration"), rubrics, renderer, config)
    problems += _check_problems(config, ok)
    problems += packaging_problems(config)  # all `judge package` would refuse
    return problems, ok


def _check_problems(config: RewardConfig, ok: list[str]) -> list[str]:
    """Build every ``[checks.<name>]`` as the Lambda would: what cannot be built, with its fix."""
    from judge.checkrun import build_check

    problems: list[str] = []
    rows = dict(zip(config.checks.specs, describe_checks(config), strict=True))
    for name, spec in config.checks.specs.items():
        try:
            build_check(config, name, spec)
        except SourceError as exc:
            problems.append(str(exc))
        else:
            ok.append(f"check {rows[name]}")
    return problems


def describe_checks(config: RewardConfig) -> list[str]:
    """One line per check: name, kind, weight (and its share), gate, the settings it sets."""
    from judge.config import SAMPLE_RUBRIC

    specs = config.checks.specs
    total = sum(config.weight(n) for n in [*config.rubrics, *specs] if n != SAMPLE_RUBRIC)
    lines = []
    for name, spec in specs.items():
        gates = [f"gate below {g.below:g} -> {g.reward}" for g in config.gates if g.rubric == name]
        if gates and config.checks.short_circuit:
            gates.append("short-circuits the judges")
        settings = spec.model_dump(exclude={"kind", "weight"}, exclude_unset=True, by_alias=True)
        shown = ", ".join(f"{k}={_short(v)}" for k, v in settings.items())
        share = spec.weight / total if total else 0.0
        parts = [f"{name}: {spec.kind}", f"weight {spec.weight:g} ({share:.0%} of the reward)"]
        lines.append("; ".join([*parts, *gates, *([shown] if shown else [])]))
    return lines


def _short(value: object, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def config_notes(config_path: str | Path | None = None) -> list[str]:
    """Settings that do nothing, or that work against the reward (warnings, not errors)."""
    from judge.panel import same_family

    config = load_config(config_path)
    judge = config.judge
    given = judge.model_fields_set
    grouped = [name for name in config.rubrics if config.mode(name) == "group"]
    notes = []
    for key in sorted({"group_orders", "group_max_size", "group_max_chars"} & given):
        if not grouped:
            notes.append(f"[judge] {key} has no effect: no rubric is judged in group mode")
    for key in sorted({"aggregation", "quorum"} & given):
        if len(judge.panel) < 2:
            notes.append(f"[judge] {key} has no effect without a panel of two or more judges")
    if len(judge.panel) == 1:
        notes.append("[judge] panel has one judge: it is judge.model_id's replacement, not a panel")
    two_orders = bool(grouped) and judge.group_orders == 2
    if config.reward.shrink > 0 and len(judge.panel) < 2 and not two_orders:
        notes.append(
            "[reward] shrink has no effect: it needs a disagreement to measure (a panel of "
            "two or more judges, or group_orders = 2 in group mode)"
        )
    if config.reward.length_control == "calibrated" and not _length_measured(config):
        notes.append(
            '[reward] length_control = "calibrated" has no effect: no calibration map in '
            f"{config.path('calibration')} measured a length preference whose interval excludes "
            '0 (run `judge calibrate`; "group" also corrects rubrics without one)'
        )
    notes += _local_canaries(config)
    if judge.combine_rubrics and grouped:
        names = ", ".join(grouped)
        notes.append(f"[judge] combine_rubrics does not apply to rubrics in group mode ({names})")
    notes += [
        f"judge {model} is of the policy's family ({judge.policy_model_id}): judges favour "
        "their own family; prefer another"
        for model in same_family(judge)
    ]
    return notes


def _local_canaries(config: RewardConfig) -> list[str]:
    """A canary set built on a local server: deployed, it would report that gap as drift."""
    from judge.canaries import canary_path, load_canaries

    path = canary_path(config)
    try:
        canaries = load_canaries(path) if path.is_file() else []
    except SourceError:
        return []  # the deployed run logs it; nothing to compare here
    local = sorted({str((c.built or {}).get("endpoint", "aws")) for c in canaries} - {"aws"})
    if not local:
        return []
    return [
        f"{path} was built against a local judge server ({', '.join(local)}): deployed, the "
        "canary run would report the local/Bedrock difference as drift (and alarm). Fix: "
        "rebuild it with `judge canary build` against Bedrock before `judge package`"
    ]


def _length_measured(config: RewardConfig) -> bool:
    """Whether a calibration map carries a length slope that ``calibrated`` would apply."""
    for path in sorted(config.path("calibration").glob("*.json")):
        try:
            artefact = load_artefact(path)
        except SourceError:
            continue  # the artefact check reports it
        length = artefact.map.length if artefact is not None else None
        if length is not None and length.significant:
            return True
    return False


def _render_every_template(
    renderer: PromptRenderer, rubrics: list[Rubric], judge: JudgeSettings, grouped: bool
) -> list[str]:
    """Render each template in both verdict modes: single, combined, checklist, group requests.

    A template that is missing is a problem only where the config would use it.
    """
    problems: list[str] = []
    for name in sorted(renderer.optional):  # compiled even where this config never renders it
        try:
            renderer.templates.get(name)
        except SourceError as exc:
            problems.append(str(exc))
    checklist = criterion_rubrics(SampleRubric(criteria=(Criterion("Says hello", 1.0),)))
    for mode in ("tool", "text"):
        settings = JudgeSettings.model_validate({**judge.model_dump(), "verdict_mode": mode})
        renders: list[Callable[[], object]] = [
            partial(renderer.render_many, [r], _PROBE, settings, "single") for r in rubrics
        ]
        if len(rubrics) > 1 and (judge.combine_rubrics or COMBINED_TEMPLATE in renderer.optional):
            renders.append(partial(renderer.render_many, rubrics, _PROBE, settings, "combined"))
        if CHECKLIST_TEMPLATE in renderer.optional:
            renders.append(
                partial(renderer.render_many, list(checklist), _PROBE, settings, "checklist")
            )
        if grouped or GROUP_TEMPLATE in renderer.optional:
            renders += [
                partial(
                    renderer.render_group,
                    r,
                    _PROBE,
                    ["One.", "Two."],
                    answer_rubrics(r, 2),
                    settings,
                )
                for r in rubrics
            ]
        for render in renders:
            try:
                render()
            except SourceError as exc:
                if str(exc) not in problems:
                    problems.append(str(exc))
    return problems


def _stale_artefacts(
    directory: Path,
    rubrics: dict[str, Rubric],
    renderer: PromptRenderer,
    config: RewardConfig,
) -> list[str]:
    """Artefacts the Lambda would refuse: deploying them means silently uncalibrated rewards.

    ``<rubric>.json`` is checked against the judge, ``<rubric>@<model>.json`` against that
    panel judge, each in the rubric's judging mode.
    """
    judges = {member_slug(j.model_id): j for j in config.judge.members()}
    out = []
    for path in sorted(directory.glob("*.json")):
        try:
            artefact = load_artefact(path)
        except SourceError as exc:
            out.append(str(exc))
            continue
        name, _, member = path.stem.partition("@")
        rubric = rubrics.get(name)
        settings = judges.get(member) if member else config.judge
        if artefact is None or rubric is None:
            continue
        if settings is None:
            out.append(
                f"{path}: a map for judge {member}, which is not in [judge] panel. Fix: delete "
                "the file, or add the judge to the panel"
            )
            continue
        mode = config.mode(name)
        # The endpoint is only known at run time; everything else must match now.
        stale = mismatches(
            artefact, rubric, renderer.hash_for(mode), settings, artefact.endpoint, mode
        )
        if stale:
            out.append(
                f"{path}: calibration is stale ({'; '.join(stale)}). Fix: re-run "
                f"`judge calibrate --rubric {name}` or delete the file"
            )
    return out


def lint_data(path: Path, config_path: str | Path | None = None) -> tuple[list[str], int]:
    """Validate every per-sample rubric in a dataset file: (problems by line, rubrics seen).

    The file is read by the event reader ``judge score`` and the handler use, so lint accepts
    exactly what they accept (a JSON list, ``{"trajectories": [...]}``, one sample, JSONL).
    """
    from judge.checklist import parse_sample_rubric
    from judge.contract import parse_sample, read_event_file, sample_rubric_data, samples_of
    from judge.errors import EventError

    config = load_config(config_path)
    try:
        samples = samples_of(read_event_file(path))
    except EventError as exc:
        return [f"{path}: {exc}"], 0
    where = _places(path, len(samples))
    problems: list[str] = []
    seen = 0
    for place, raw in zip(where, samples, strict=True):
        if isinstance(raw, str):  # a JSONL line the reader could not parse
            problems.append(f"{place}: not JSON")
            continue
        if not isinstance(raw, dict):
            problems.append(f"{place}: a sample is an object, not {type(raw).__name__}")
            continue
        sample = parse_sample(0, raw)
        if sample.problem:
            problems.append(f"{place}: {sample.problem}")
        found = sample_rubric_data(raw)
        if found is None:
            continue
        seen += 1
        try:
            parse_sample_rubric(*found, config.sample_rubric)
        except ValueError as exc:
            problems.append(f"{place}: {exc}")
    return problems, seen


def _places(path: Path, count: int) -> list[str]:
    """Where each sample is, for the messages.

    ``file:line`` when each non-blank line is one sample (JSONL), else ``file: sample N``.
    """
    lines = path.read_text("utf-8", "replace").splitlines()
    numbers = [n for n, line in enumerate(lines, start=1) if line.strip()]
    if len(numbers) == count:
        return [f"{path}:{n}" for n in numbers]
    return [f"{path}: sample {i}" for i in range(1, count + 1)]
