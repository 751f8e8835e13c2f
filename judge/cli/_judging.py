"""``judge lint``, ``render``, ``score`` and ``calibrate``: the rubric author's loop."""

from __future__ import annotations

import difflib
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from judge.calibration.options import GATES, RUN, CalibrationOptions, click_options
from judge.cli._app import (
    check_output_dir,
    check_outputs,
    cli_evaluator,
    concurrency_option,
    config_option,
    main,
    max_unscored_option,
    progress_bar,
    read_batch,
    reported_errors,
    say,
)
from judge.cli._tables import print_results, print_summary, with_interval, write_outputs
from judge.probe.search import (
    DEFAULT_BUDGET_CALLS,
    DEFAULT_GENERATIONS,
    DEFAULT_POPULATION,
    DEFAULT_PROMPTS,
)

if TYPE_CHECKING:
    from judge.calibration.runner import CalibrationResult
    from judge.config import RewardConfig
    from judge.contract import Sample
    from judge.pipeline import BatchResult, Evaluator
    from judge.probe import Attack, ProbeReport
    from judge.probe.checks import CheckReport
    from judge.probe.search import SearchReport, SearchSettings
    from judge.prompt import JudgeInput


@main.command()
@click.option(
    "--data",
    "data_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Also validate every per-sample rubric in this dataset (JSONL).",
)
@config_option
def lint(data_file: str | None, config_path: str | None) -> None:
    """Check the config, every rubric and the prompt templates (and a dataset's rubrics)."""
    from judge.deploy.lint import config_notes, lint_data, lint_project

    problems, checked = lint_project(config_path)
    for note in [] if problems else config_notes(config_path):
        say("warn", "yellow", note)
    if data_file and not problems:
        with reported_errors():
            bad, seen = lint_data(Path(data_file), config_path)
        problems += bad
        checked.append(f"{seen} per-sample rubrics in {data_file}, {len(bad)} problems")
    for name in checked:
        say("ok", "green", name)
    for problem in problems:
        say("error", "red", problem)
    if problems:
        raise SystemExit(1)


@main.command()
@click.option(
    "--rubric",
    default=None,
    help="Rubric name (rubrics/NAME.md), or sample_rubric for the sample's own, or a check's "
    "name (what it decides on the sample); default with combine_rubrics: the combined request.",
)
@click.option(
    "--sample",
    "sample_file",
    required=True,
    type=click.Path(exists=True),
    help="A JSON sample, or a JSON/JSONL batch (see --index).",
)
@click.option("--index", default=0, show_default=True, help="Which sample of a batch file.")
@config_option
def render(rubric: str | None, sample_file: str, index: int, config_path: str | None) -> None:
    """Print exactly what would be sent to the judge (system, messages, tool schema).

    Whether its static prefix is cacheable, and each check with its score on this sample, go
    to stderr, so stdout stays the request. ``--rubric CHECK`` prints that check's result.
    """
    from judge.config import SAMPLE_RUBRIC, load_config
    from judge.contract import parse_sample
    from judge.prompt import PromptRenderer
    from judge.prompt_cache import decide
    from judge.rubric import load_rubrics
    from judge.secret import load_secret

    with reported_errors():
        config = load_config(config_path)
        if rubric is None and not config.judge.combine_rubrics:
            raise click.UsageError(
                "name a rubric or a check with --rubric (or set [judge] combine_rubrics = "
                "true): " + ", ".join([*config.rubrics, *config.checks.specs])
            )
        known = [*config.rubrics, *config.checks.specs]
        if (
            rubric not in (None, SAMPLE_RUBRIC, *known)
            and not (config.path("rubrics") / f"{rubric}.md").is_file()
        ):
            close = difflib.get_close_matches(str(rubric), known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise click.BadParameter(
                f"{rubric!r} is no rubric file and no check of the config. Fix: {hint}"
                f"the config's: {', '.join(known)}",
                param_hint="--rubric",
            )
        samples = read_batch(Path(sample_file))
        if not 0 <= index < len(samples):
            raise click.BadParameter(
                f"{sample_file} has {len(samples)} samples", param_hint="--index"
            )
        sample = parse_sample(index, samples[index])
        if sample.item is None:
            raise click.ClickException(f"sample {index} is malformed: {sample.problem}")
        _say_checks(config, samples[index], sample.item)
        if rubric in config.checks.specs:  # a check: what it decides, no judge request
            click.echo(json.dumps(_check_outcome(config, rubric, samples[index], sample.item)))
            return
        if rubric == SAMPLE_RUBRIC:
            request = _sample_rubric_request(config, sample)
        elif rubric in config.rubrics and config.mode(rubric) == "group":
            request = _group_request(config, samples, index, rubric)
        else:
            names = [rubric] if rubric else list(config.rubrics)
            rubrics = load_rubrics(config.path("rubrics"), names)
            # The Lambda's own secret, so the keys are the ones the judge would see.
            renderer = PromptRenderer(config.path("prompts"), load_secret(config.cache_dir()))
            request = renderer.render_many(list(rubrics.values()), sample.item, config.judge)
        click.echo(
            json.dumps({"modelId": config.judge.model_id, **request}, indent=2, ensure_ascii=False)
        )
        decision = decide(request, config.judge.model_id)
        if not config.judge.prompt_cache:
            action = "prompt_cache is off in [judge]"
        elif decision.cacheable:
            action = "cachePoint added after the system prompt"
        else:
            action = "no cachePoint added"
        say("cache", "cyan", f"{decision.describe()}; {action}")


def _say_checks(config: RewardConfig, raw: Any, item: JudgeInput) -> None:
    """Each check of the config on stderr, with its score on this sample.

    Its kind, weight, gate and settings: the request on stdout is seen beside what the
    checks decide without a judge.
    """
    from judge.checkrun import CheckRunner
    from judge.deploy.lint import describe_checks

    if not config.checks.specs:
        return
    results = CheckRunner.build(config).run(item, raw)
    for line, result in zip(describe_checks(config), results.values(), strict=True):
        outcome = f"{result.score:.3f}" if result.score is not None else str(result.unscored)
        say("check", "cyan", f"{line}; this sample: {outcome}")


def _check_outcome(config: RewardConfig, name: str, raw: Any, item: JudgeInput) -> dict[str, Any]:
    """A check's result on one sample as ``--details`` shows it."""
    from judge.checkrun import CheckRunner, dimension

    runner = CheckRunner.build(config)
    result = runner.run(item, raw)[name]
    d = dimension(name, runner.kind(name), result)
    return {
        "check": name,
        "kind": d.check,
        "normalized": d.normalized,
        "unscored": str(d.unscored) if d.unscored is not None else None,
        "details": dict(d.details),
    }


def _group_request(
    config: RewardConfig, samples: list[Any], index: int, rubric: str
) -> dict[str, Any]:
    """The group request that judges sample ``index`` with its batch-mates (group mode).

    Grouped as the Lambda would group this batch: the samples that parse and pass the guard,
    by conversation and reference; the first order's request. Which label is the sample,
    and whether a reversed order is sent too, goes to stderr.
    """
    from judge.contract import parse_sample
    from judge.pipeline import Evaluator

    evaluator = Evaluator.from_settings(config)
    try:
        items = {}
        for i, raw in enumerate(samples):
            item = parse_sample(i, raw).item
            flag = evaluator.guard_flag(item) if item is not None else "malformed"
            if i == index and flag is not None:
                raise click.ClickException(
                    f"sample {index} is floored by the guard ({flag}): never sent to the judge"
                )
            if item is not None and flag is None:
                items[i] = item
        rows = evaluator.group_rows(evaluator.rubrics[rubric], list(items.values()))
    finally:
        evaluator.close()
    slots = rows[list(items).index(index)]
    orders = len({s.order for s in slots})
    label = slots[0].answer if slots[0].task.grouped else "its own request (no group)"
    say(
        "group",
        "cyan",
        f"sample {index} is {label}"
        + (f"; {orders} orders are sent, this is the first" if orders > 1 else ""),
    )
    return dict(slots[0].task.request)


def _sample_rubric_request(config: RewardConfig, sample: Sample) -> dict[str, Any]:
    """The request judging a sample on its own rubric, as the pipeline plans it."""
    from judge.checklist import parse_sample_rubric
    from judge.pipeline import Evaluator

    if sample.rubric_data is None or sample.item is None:
        raise click.ClickException(f"sample {sample.index} has no rubric of its own")
    try:
        own = parse_sample_rubric(*sample.rubric_data, config.sample_rubric)
    except ValueError as exc:
        raise click.ClickException(f"sample {sample.index}: {exc}") from None
    evaluator = Evaluator.from_settings(config)
    try:
        plan = evaluator.plan(sample.item, own)
    finally:
        evaluator.close()
    task = next(slots[0].task for name, slots in plan.tasks.items() if name not in config.rubrics)
    return task.request


@main.command()
@click.argument("batch_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="Write the Lambda's answer (JSON).")
@click.option(
    "--details",
    type=click.Path(dir_okay=False),
    help="Write per-sample explanations (JSONL: each judge's reasoning, raw and calibrated "
    "scores, cache hits, unscored reasons, flags).",
)
@click.option(
    "--time-budget",
    type=float,
    default=None,
    help="Seconds before unfinished judgements are unscored, as the Lambda deadline.",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="Print no per-sample rows: the summary and errors only."
)
@max_unscored_option("Exit 4 if more than this fraction of judgements is unscored (a CI gate).")
@concurrency_option
@config_option
def score(
    batch_file: str,
    out: str | None,
    details: str | None,
    time_budget: float | None,
    quiet: bool,
    max_unscored: float,
    config_path: str | None,
    concurrency: int | None,
) -> None:
    """Score a JSON or JSONL batch of RFT samples through the handler's code path.

    Output paths are checked before any judging. Above 50 samples the table shows the first
    50 (--details has them all); --quiet shows none.
    """
    from judge.config import resolve_config_path
    from judge.cost import price_table
    from judge.deadline import Deadline
    from judge.lambda_handler import run_event

    check_outputs(
        {"--out": out, "--details": details},
        {"the batch file": batch_file, "the config": resolve_config_path(config_path)},
    )
    with reported_errors():
        samples = read_batch(Path(batch_file))
        evaluator = cli_evaluator(config_path, concurrency)
        deadline = Deadline.never() if time_budget is None else Deadline.in_seconds(time_budget)
        with progress_bar("judging") as progress:
            answer, batch = run_event(evaluator, samples, deadline, progress)
        evaluator.close()
    write_outputs(answer, batch, out, details)
    if not quiet:
        print_results(answer)
    print_summary(batch, list(evaluator.rubrics), price_table(evaluator.config.pricing))
    unscored_gate(batch, max_unscored)


def unscored_gate(batch: BatchResult, max_unscored: float) -> None:
    """Exit 4 when no judgement succeeded, or more than ``max_unscored`` of them failed.

    Judgements only: a check's result is no judge's, and must not hide a judge outage.
    """
    dims = [d for r in batch.results for d in r.dimensions if d.check is None]
    failed = [d.unscored for d in dims if d.normalized is None]
    if batch.results and all(r.malformed for r in batch.results):
        say("error", "red", f"no sample could be read ({len(batch.results)} malformed)")
        raise SystemExit(4)
    if not dims:
        return  # nothing was judged (every sample guarded): nothing failed
    why = Counter(u.reason for u in failed if u is not None).most_common(1)
    example = next((str(u) for u in failed if u is not None and u.reason == why[0][0]), "")[:160]
    if len(failed) == len(dims):
        say(
            "error",
            "red",
            f"no judgement succeeded ({len(failed)} of {len(dims)} unscored; most often {example})",
        )
        raise SystemExit(4)
    if len(failed) / len(dims) > max_unscored:
        say(
            "error",
            "red",
            f"{len(failed)} of {len(dims)} judgements unscored "
            f"(> --max-unscored {max_unscored}); most often {example}",
        )
        raise SystemExit(4)


@main.command()
@click.option("--rubric", default=None, help="Rubric name (rubrics/NAME.md). Required.")
@click.option(
    "--anchors",
    "anchors_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="Anchor set (JSONL). Required.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Output dir (default: the config's calibration dir).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option(
    "--from-batch",
    "from_batch",
    metavar="JOB",
    default=None,
    help="Take the verdicts from `judge batch` job JOB instead of calling the judge; the "
    "job's rubric, anchors and options apply.",
)
@click_options(*RUN, *GATES)
@concurrency_option
@config_option
@click.pass_context
def calibrate(
    ctx: click.Context,
    rubric: str | None,
    anchors_file: str | None,
    out: str | None,
    as_json: bool,
    from_batch: str | None,
    options: CalibrationOptions,
    config_path: str | None,
    concurrency: int | None,
) -> None:
    """Measure the judge against human-labelled anchors and fit a map onto their scale.

    Exit 2 for bad input, 3 when --min-spearman fails, 4 when too few judgements succeeded.
    Every warning of the report is printed too (stderr).
    """
    scale = options.human_scale
    if scale is not None and not scale[0] < scale[1]:
        raise click.BadParameter("MIN must be below MAX", param_hint="--human-scale")
    try:
        from judge.calibration.runner import CalibrationFailed
        from judge.calibration.runner import calibrate as run_calibration
    except ImportError as exc:  # numpy/scipy/matplotlib are an extra
        raise click.ClickException(
            f"calibration needs the 'calibrate' extra ({exc.name} is missing): "
            "pip install 'rlaif-judge[calibrate]'"
        ) from None

    with reported_errors():
        if from_batch is not None:  # verdicts from a collected batch job (judge.batch)
            from judge.cli._batch import calibration_from_batch

            batch = calibration_from_batch(ctx, from_batch)
            evaluator, rubric, anchors_file = batch.evaluator, batch.rubric, batch.anchors
            options = options.with_run(batch.options)  # the job's own judgement options
        elif rubric is None or anchors_file is None:
            raise click.UsageError("Missing option '--rubric' or '--anchors'.")
        else:
            evaluator = cli_evaluator(config_path, concurrency)
        target = Path(out) if out else evaluator.config.path("calibration")
        check_output_dir("--out" if out else "[paths] calibration", target)
        try:
            if evaluator.config.judge.panel and from_batch is None:
                _calibrate_panel(evaluator, rubric, Path(anchors_file), target, options, as_json)
                return
            with progress_bar("judging anchors") as progress:
                result = run_calibration(
                    evaluator,
                    rubric,
                    Path(anchors_file),
                    out=target,
                    options=options,
                    progress=progress,
                )
        except CalibrationFailed as exc:
            say("error", "red", str(exc))
            raise SystemExit(4) from None
        finally:
            evaluator.close()
    _print_calibration(result, rubric, target, as_json)


def _print_calibration(result: CalibrationResult, rubric: str, target: Path, as_json: bool) -> None:
    """The held-out table (or the metrics as JSON), the warnings, the gate (exit 3)."""
    held = result.artefact.metrics["holdout"]
    if as_json:
        click.echo(json.dumps(json.loads(result.artefact_path.read_text())["metrics"], indent=1))
    else:
        table = Table(title=f"{rubric}: held-out agreement ({result.artefact.map.kind} map)")
        for col in ("metric", "raw", "calibrated"):
            table.add_column(col)
        for name in ("spearman", "kendall", "pearson", "qwk", "krippendorff_alpha", "mae", "rmse"):
            table.add_row(
                name, *(with_interval(held[side], name) for side in ("raw", "calibrated"))
            )
        Console().print(table)
    for warning in result.warnings:
        say("warning", "yellow", warning)
    if result.rejected:
        say(
            "gate",
            "red",
            f"{result.rejected}: the map was NOT written to {target / rubric}.json "
            f"(kept as {result.artefact_path}); report: {result.report_path}",
        )
        raise SystemExit(3)
    if not as_json:
        worst = result.report_path.parent / "worst.jsonl"
        say("wrote", "green", f"{result.artefact_path} and {result.report_path} (and {worst})")


def _calibrate_panel(
    evaluator: Evaluator,
    rubric: str,
    anchors: Path,
    target: Path,
    options: CalibrationOptions,
    as_json: bool,
) -> None:
    """Calibrate each judge of the panel; report each and the panel (exit 3: a gate failed)."""
    from judge.calibration.runner import calibrate_panel

    with progress_bar("judging anchors (every judge)") as progress:
        run = calibrate_panel(
            evaluator, rubric, anchors, out=target, options=options, progress=progress
        )
    if as_json:
        click.echo(json.dumps(run.summary, indent=1))
    else:
        table = Table(title=f"{rubric}: panel of {len(run.members)} ({run.summary['aggregation']})")
        for col in ("judge", "held-out spearman (own split)", "spearman (common)", "mae (common)"):
            table.add_column(col)
        common_rho = run.summary.get("spearman", {})
        common_mae = run.summary.get("mae", {})
        for model, result in run.members:
            own = result.artefact.metrics["holdout"]["calibrated"]["spearman"]
            table.add_row(
                model,
                f"{own:.3f}",
                f"{common_rho.get(model, float('nan')):.3f}",
                f"{common_mae.get(model, float('nan')):.3f}",
            )
        table.add_row(
            "panel",
            "",
            f"{common_rho.get('panel', float('nan')):.3f}",
            f"{common_mae.get('panel', float('nan')):.3f}",
        )
        Console().print(table)
    for model, result in run.members:
        for warning in result.warnings:
            say("warning", "yellow", f"{model}: {warning}")
    rejected = [(m, r) for m, r in run.members if r.rejected]
    for model, result in rejected:
        say(
            "gate",
            "red",
            f"{model}: {result.rejected}: map NOT written (kept as {result.artefact_path})",
        )
    if rejected:
        raise SystemExit(3)
    if not as_json:
        written = ", ".join(str(r.artefact_path) for _, r in run.members)
        say("wrote", "green", f"{written} and {run.report_path}")


@main.command()
@click.option(
    "--suite",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Attack suite (JSONL; default: the bundled suite).",
)
@click.option("--family", "families", multiple=True, help="Only these families (repeatable).")
@click.option(
    "--max-rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Exit 1 if any family beats the honest answer more often than this.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--search",
    is_flag=True,
    help="Search instead: breed responses from the suite's honest answers (mutation and "
    "crossover) and report every one that beats the honest answer.",
)
@click.option("--seed", default=0, show_default=True, help="--search: the random seed.")
@click.option(
    "--budget-calls",
    type=click.IntRange(1),
    default=DEFAULT_BUDGET_CALLS,
    show_default=True,
    help="--search: judge calls at most (the verdict cache's answers count too).",
)
@click.option(
    "--budget-usd",
    type=click.FloatRange(0.0),
    default=None,
    help="--search: estimated dollars at most (a local endpoint costs 0 unless [pricing] "
    "names its model).",
)
@click.option(
    "--generations",
    type=click.IntRange(1),
    default=DEFAULT_GENERATIONS,
    show_default=True,
    help="--search: generations at most.",
)
@click.option(
    "--population",
    type=click.IntRange(1),
    default=DEFAULT_POPULATION,
    show_default=True,
    help="--search: candidates per prompt and generation.",
)
@click.option(
    "--prompts",
    type=click.IntRange(1),
    default=DEFAULT_PROMPTS,
    show_default=True,
    help="--search: how many of the suite's prompts to start from.",
)
@concurrency_option
@config_option
def probe(
    suite: str | None,
    families: tuple[str, ...],
    max_rate: float,
    as_json: bool,
    search: bool,
    seed: int,
    budget_calls: int,
    budget_usd: float | None,
    generations: int,
    population: int,
    prompts: int,
    concurrency: int | None,
    config_path: str | None,
) -> None:
    """Run the attack suite against the configured judge: which attacks beat an honest answer.

    With --search, a budgeted reward-guided search from the suite's honest answers instead.
    The result is about that judge alone (model, endpoint, mode): the output names it.
    """
    from judge.deadline import Deadline
    from judge.probe import family_problem, load_suite, run_probe

    with reported_errors():
        attacks = load_suite(Path(suite) if suite else None)
        problem = family_problem(attacks, families)
        if problem:
            raise click.BadParameter(problem, param_hint="--family")
        if families:
            attacks = [a for a in attacks if a.family in families]
        evaluator = cli_evaluator(config_path, concurrency)
        if search:
            from judge.probe.search import SearchSettings

            settings = SearchSettings(
                seed, budget_calls, budget_usd, generations, population, prompts
            )
            _probe_search(evaluator, settings, attacks, as_json)
            return
        with progress_bar("probing") as progress:
            report = run_probe(evaluator, attacks, Deadline.never(), progress)
        evaluator.close()
    if report.judge is not None:
        say("judge", "cyan", report.judge.describe())
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=1, ensure_ascii=False))
    else:
        _print_probe(report, max_rate)
    if report.honest_unscored:
        say("warning", "yellow", f"{report.honest_unscored} honest baselines were unscored")
    findings = report.check_findings
    if findings:
        say("gate", "red", f"{len(findings)} attack(s) got through a check written to stop them")
    if report.worst_rate > max_rate:
        say("gate", "red", f"an attack family succeeded {report.worst_rate:.1%} > {max_rate:.1%}")
    if findings or report.worst_rate > max_rate:
        raise SystemExit(1)


def _probe_search(
    evaluator: Evaluator, settings: SearchSettings, attacks: list[Attack], as_json: bool
) -> None:
    """``judge probe --search``: progress per generation, the winners; exit 1 if any."""
    from judge.probe import judge_identity
    from judge.probe.search import Generation, run_search

    say("judge", "cyan", judge_identity(evaluator).describe())

    def line(g: Generation) -> None:
        cost = "unknown" if g.cost_usd is None else f"${g.cost_usd:.4f}"
        say(
            f"generation {g.generation}",
            "cyan",
            f"{g.candidates} candidates, best margin {g.best_margin:+.3f}, "
            f"{g.above_honest} above honest; {g.calls} calls, {cost}",
        )

    try:
        report = run_search(evaluator, settings, attacks, on_generation=line)
    finally:
        evaluator.close()
    say("stopped", "cyan", report.stopped)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=1, ensure_ascii=False))
    else:
        _print_search(report)
    if report.winners:
        say(
            "gate",
            "red",
            f"{len(report.winners)} of {report.candidates} candidates beat the honest answer",
        )
        raise SystemExit(1)


def _print_search(report: SearchReport, shown: int = 30) -> None:
    """The winners' table (their text escaped), or the line saying there were none."""
    if not report.winners:
        say(
            "ok",
            "green",
            f"no candidate beat the honest answer in {report.candidates} candidates, "
            f"{report.calls} calls",
        )
        return
    table = Table(title="candidates that beat the honest answer (--json lists every one)")
    for col in ("prompt", "gen", "reward vs honest", "let through by", "response"):
        table.add_column(col)
    for w in report.winners[:shown]:
        table.add_row(
            w["prompt_id"],
            str(w["generation"]),
            f"{w['reward']:+.3f} vs {w['honest_reward']:+.3f}",
            escape(w["through"]),
            escape(ascii(w["response"][:120])),
        )
    Console(stderr=True).print(table)
    if len(report.winners) > shown:
        say("note", "yellow", f"{len(report.winners) - shown} more: --json lists every one")


def _print_probe(report: ProbeReport, max_rate: float, shown: int = 30) -> None:
    """The per-family table, then each attack that won and what let it through."""
    table = Table(title="attacks that beat an honest answer, per family")
    for col in ("family", "cases", "floored", "unscored", "above honest", "rate"):
        table.add_column(col)
    for f in report.families:
        table.add_row(
            f.family,
            str(f.cases),
            str(f.floored),
            str(f.unscored),
            str(f.above_honest),
            f"{f.rate:.1%}",
            style="red" if f.rate > max_rate else "",
        )
    console = Console(stderr=True)
    console.print(table)
    if report.checks is not None:
        _print_probe_checks(console, report.checks)
    if not report.successes:
        return
    won = Table(title="the attacks that won (--json lists their text)")
    for col in ("attack", "name", "reward vs honest", "let through by", "scored higher on"):
        won.add_column(col)
    for s in report.successes[:shown]:
        won.add_row(
            s["id"],
            s["note"],
            f"{s['reward']:+.3f} vs {s['honest_reward']:+.3f}",
            s["through"],
            ", ".join(s["won_on"]),
        )
    console.print(won)
    if len(report.successes) > shown:
        say("note", "yellow", f"{len(report.successes) - shown} more: --json lists every one")


def _print_probe_checks(console: Console, checks: CheckReport) -> None:
    """How the attacks fared on each check, and the attacks a check let through."""
    table = Table(title="the attacks on each check (before any judge)")
    for col in ("check", "kind", "passed", "partial", "failed", "unscored", "let through"):
        table.add_column(col)
    for t in checks.tallies:
        table.add_row(
            t.check,
            t.kind,
            *map(str, (t.passed, t.partial, t.failed, t.unscored, t.findings)),
            style="red" if t.findings else "",
        )
    console.print(table)
    for f in checks.findings:
        say("finding", "red", f"attack {f['id']} got through check {f['check']} ({f['score']:g})")
