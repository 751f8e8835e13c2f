"""The reward config (``reward.toml``): which judge, which rubrics, how scores combine.

Validated with pydantic in strict mode; unknown keys and values of the wrong type are errors
(a typo or a quoted ``"0.3"`` must not silently become a default or a coerced value inside a
training run), and every error names the file, the line, the key, what was given and the fix.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from judge.errors import SourceError, read_text
from judge.tomlpos import Key, key_lines, line_of

CONFIG_ENV = "JUDGE_CONFIG"
SAMPLE_RUBRIC = "sample_rubric"  # the dimension a sample's own rubric scores
CACHE_ENV = "JUDGE_CACHE_DIR"
DEFAULT_CONFIG = "reward.toml"


class _Strict(BaseModel):
    """Unknown keys are errors, and so are values of the wrong type (``"512"`` is no integer).

    Strict mode still takes a TOML integer where a float is expected (``weight = 1``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _At(ValueError):
    """A cross-field problem that belongs to one key: ``loc`` is relative to the model checked."""

    def __init__(self, problem: str, *loc: str | int, fix: str = "make the values consistent"):
        super().__init__(problem)
        self.loc: Key = loc
        self.fix = fix


class PanelMember(_Strict):
    """One judge of a panel: a model id, and any inference settings it overrides."""

    model_id: str = Field(min_length=1)
    region: str | None = None
    profile: str | None = None
    max_tokens: int | None = Field(None, ge=16, le=8192)
    temperature: float | None = Field(None, ge=0.0, le=1.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    additional_request_fields: dict[str, Any] | None = None


JudgeMode = Literal["pointwise", "group"]


class JudgeSettings(_Strict):
    """The Bedrock judge model and its inference settings.

    ``mode``: ``pointwise`` judges each response alone; ``group`` judges the batch's responses
    to one prompt together (at most ``group_max_size`` a call), in ``group_orders`` orders.
    ``panel``: several judge models, each judging everything; their calibrated scores are
    combined by ``aggregation`` when at least ``quorum`` of them gave a verdict.
    """

    model_id: str = "us.amazon.nova-pro-v1:0"
    region: str | None = None
    profile: str | None = None
    max_tokens: int = Field(512, ge=16, le=8192)
    temperature: float = Field(0.0, ge=0.0, le=1.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    additional_request_fields: dict[str, Any] | None = Field(
        None,
        description="Model-specific fields; unset: Nova gets topK 1 (greedy), others nothing.",
    )
    verdict_mode: Literal["tool", "text"] = "tool"
    # How sample text is shown to the judge (judge/spotlight.py): every line behind a keyed
    # marker, one JSON string, or as it is (the removal list alone).
    spotlight: Literal["datamark", "json", "off"] = "datamark"
    combine_rubrics: bool = Field(
        False, description="Judge every rubric of a sample in one call (one system prompt)."
    )
    prompt_cache: bool = False
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(60.0, gt=0)
    mode: JudgeMode = "pointwise"
    group_orders: int = Field(1, ge=1, le=2)
    group_max_size: int = Field(8, ge=2, le=32)
    # A group call's responses together, in characters; longer groups are split further.
    group_max_chars: int = Field(40000, ge=1000)
    panel: list[PanelMember] = Field(default_factory=list)
    aggregation: Literal["mean", "median", "majority"] = "mean"
    quorum: int | None = Field(None, ge=1)
    # The model being trained, when known: a judge of its family favours it (self-preference).
    policy_model_id: str | None = None

    @model_validator(mode="after")
    def _panel(self) -> JudgeSettings:
        ids = [m.model_id for m in self.panel]
        for n, model_id in enumerate(ids):
            if model_id in ids[:n]:
                raise _At(
                    f"the panel lists model_id {model_id!r} twice "
                    "(its verdicts would come from the cache)",
                    *("panel", n, "model_id"),
                    fix="list each judge model once",
                )
        if self.quorum is not None and not self.panel:
            raise _At(
                "quorum is set but there is no panel",
                "quorum",
                fix="add [judge] panel or remove quorum",
            )
        if self.quorum is not None and self.quorum > len(self.panel):
            raise _At(
                f"quorum {self.quorum} is larger than the panel ({len(ids)})",
                "quorum",
                fix=f"use a quorum of at most {len(ids)}",
            )
        return self

    def members(self) -> list[JudgeSettings]:
        """The judges: each panel member with its overrides, or this judge alone."""
        if not self.panel:
            return [self]
        return [
            self.model_copy(
                update={
                    "panel": [],
                    "quorum": None,
                    **m.model_dump(exclude_none=True),
                }
            )
            for m in self.panel
        ]

    def min_members(self) -> int:
        """How many judges must give a verdict for a dimension to be scored."""
        if not self.panel:
            return 1
        return self.quorum if self.quorum is not None else len(self.panel) // 2 + 1

    def request_fields(self) -> dict[str, Any]:
        """``additionalModelRequestFields``: as configured, else the model family's default.

        Fields are model-specific and other models reject Nova's, so the default follows the
        model id instead of being written into the config.
        """
        if self.additional_request_fields is not None:
            return self.additional_request_fields
        if "amazon.nova" in self.model_id:
            return {"inferenceConfig": {"topK": 1}}
        return {}

    def inference_config(self) -> dict[str, Any]:
        """The Converse ``inferenceConfig`` block."""
        out: dict[str, Any] = {"maxTokens": self.max_tokens, "temperature": self.temperature}
        if self.top_p is not None:
            out["topP"] = self.top_p
        return out


class RetrySettings(_Strict):
    """Retry budget for one judge call; the deadline bounds it further."""

    max_attempts: int = Field(6, ge=1, le=20)
    initial_backoff_s: float = Field(0.25, gt=0)
    max_backoff_s: float = Field(8.0, gt=0)
    model_error_retries: int = Field(2, ge=0, le=5)
    parse_retries: int = Field(1, ge=0, le=3)


class RubricWeight(_Strict):
    """A rubric in the reward, its weight, and its judging mode (default: ``[judge] mode``)."""

    weight: float = Field(1.0, gt=0, allow_inf_nan=False)
    mode: JudgeMode | None = None


class Gate(_Strict):
    """If ``rubric``'s normalised score is below ``below``, the reward becomes ``reward``.

    ``rubric`` names any dimension: a rubric, ``sample_rubric`` or a check;
    ``dimension = "<name>"`` is accepted as the clearer spelling of the same key.
    """

    rubric: str
    below: float = Field(ge=0.0, le=1.0)
    reward: float | Literal["floor"] = "floor"

    @model_validator(mode="before")
    @classmethod
    def _dimension(cls, data: Any) -> Any:
        """``dimension`` is ``rubric`` by its clearer name; both at once is ambiguous."""
        if not isinstance(data, dict) or "dimension" not in data:
            return data
        if "rubric" in data:
            raise _At(
                "a gate names its dimension once: 'rubric' or 'dimension', not both",
                "dimension",
                fix="remove one of the two keys",
            )
        out = {k: v for k, v in data.items() if k != "dimension"}
        out["rubric"] = data["dimension"]
        return out


class OutputRange(_Strict):
    """The range of ``aggregate_reward_score``."""

    min: float = Field(-1.0, allow_inf_nan=False)
    max: float = Field(1.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> OutputRange:
        if not self.min < self.max:
            raise _At("output.min must be below output.max", "min", fix="swap min and max")
        return self


class UnscoredPolicy(_Strict):
    """What an unscored judgement does to the reward (it is never silently 0).

    ``dimension``: ``drop`` re-weights over the dimensions that were scored; ``fail`` makes
    the whole sample unscored. ``sample``: an unscored sample gets ``group_mean`` (the mean
    reward of scored responses to the same prompt in the batch, so it adds no advantage in
    GRPO-style training; ``value`` when there are none) or the fixed ``value``.
    ``refused``: a judge that refused (content filter, guardrail) has not scored the response,
    and giving it its peers' mean would reward tripping the filter: it gets this reward
    (default the floor) and the ``refused`` flag.
    """

    dimension: Literal["drop", "fail"] = "drop"
    sample: Literal["group_mean", "fixed"] = "group_mean"
    value: float = Field(0.0, allow_inf_nan=False)
    refused: float | Literal["floor"] = "floor"


class GuardSettings(_Strict):
    """Degenerate-response guard (floor reward, no judge call).

    ``extra_phrases`` add content-free phrases to the bundled multilingual lexicon;
    ``lexicon`` names a file in its format (relative to the config). ``extra_patterns`` are
    regular expressions a whole (short) answer must not match. ``substance_model``: a model
    asked whether a short response the rules pass (``substance_max_words`` words at most)
    holds any answer; a failed call leaves the response to the judges.
    """

    enabled: bool = True
    extra_phrases: list[str] = Field(default_factory=list)
    lexicon: str | None = None
    extra_patterns: list[str] = Field(default_factory=list)
    echo: bool = True
    max_chars: int = Field(20000, ge=1)
    # The optional substance check (judge/substance.py): a short response the rules leave
    # undecided is asked about by this (cheap) Bedrock model; unset, no call is made.
    substance_model: str | None = Field(None, min_length=1)
    substance_max_words: int = Field(8, ge=1, le=64)  # CJK: two characters a word
    substance_max_tokens: int = Field(200, ge=16, le=2048)

    @field_validator("extra_patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for n, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise _At(
                    f"extra pattern {pattern!r} is not a valid regex: {exc}",
                    n,
                    fix="correct the regular expression (TOML literal strings '...' keep "
                    "backslashes as written)",
                ) from None
        return patterns


class SampleRubricSettings(_Strict):
    """Rubrics that travel with the sample (``metadata.rubric``, else top-level ``rubric``).

    A checklist (``[{"criterion": ..., "weight": w}]``, negative weight = pitfall) is judged
    ``explicit``ly (one call; met / not met per criterion; the score is the weighted share of
    positive criteria met, minus pitfalls hit) or ``implicit``ly (the judge sees every
    criterion and gives one score on ``implicit_scale``). Markdown in the rubric format is
    judged like a file rubric. ``partial``: criteria the judge left unanswered count against
    the response (``against``: unmet, or a pitfall hit; so suppressing answers never pays),
    are dropped from the sum (``drop``), or make the dimension unscored (``fail``). ``only``:
    a sample with its own rubric is judged on it alone, not on ``[rubrics]``.
    """

    enabled: bool = True
    mode: Literal["explicit", "implicit"] = "explicit"
    weight: float = Field(1.0, gt=0, allow_inf_nan=False)
    only: bool = False
    partial: Literal["against", "drop", "fail"] = "against"
    implicit_scale: tuple[int, int] = (1, 10)
    max_criteria: int = Field(50, ge=1, le=200)

    @field_validator("implicit_scale", mode="before")
    @classmethod
    def _from_list(cls, scale: Any) -> Any:
        """TOML has no tuples: ``[1, 10]`` is the scale (its items still strictly integers)."""
        return tuple(scale) if isinstance(scale, list) else scale

    @field_validator("implicit_scale")
    @classmethod
    def _scale(cls, scale: tuple[int, int]) -> tuple[int, int]:
        if not scale[0] < scale[1] or scale[1] - scale[0] > 20:
            raise _At(
                "implicit_scale must be [min, max] with min < max, at most 21 levels",
                fix="write implicit_scale = [1, 10]",
            )
        return scale


CHECK_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Per-sample metric names of ``SampleResult.metrics`` a check's score (named by the check)
# would collide with in ``metrics_list``.
RESERVED_NAMES = frozenset(
    {
        "unscored",
        "unscored_dimensions",
        "guarded",
        "malformed",
        "gated",
        "refused",
        "calibration_stale",
        "criteria_met",
        "criteria_total",
        "pitfalls_hit",
        "criteria_unanswered",
        "checks_unscored",
        "short_circuited",
    }
)


class _Nested(_At):
    """A ``[checks.<name>]`` table its kind's model rejected: the inner errors, and that model."""

    def __init__(self, error: ValidationError, model: type[BaseModel], *loc: str | int):
        super().__init__(str(error), *loc)
        self.error = error
        self.model = model


class ChecksSettings(BaseModel):
    """``[checks]``: ``short_circuit`` and one ``[checks.<name>]`` table per verifiable check.

    Each table is validated by the model of its ``kind`` (``judge.checks.KINDS``), strictly
    like the rest of the config. ``short_circuit``: a sample whose gated check fires gets the
    gate's reward without any judge call (a policy that breaks a hard rule costs nothing).
    """

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    short_circuit: bool = True

    @model_validator(mode="before")
    @classmethod
    def _tables(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {k: v if k in cls.model_fields else _check_spec(k, v) for k, v in data.items()}

    @property
    def specs(self) -> dict[str, Any]:
        """Each check's validated spec (a ``judge.checks.CheckSpec``), by name, in file order."""
        return dict(self.__pydantic_extra__ or {})


def _check_spec(name: str, table: Any) -> Any:
    """``[checks.<name>]`` validated by its kind's model (``_At``: what is wrong, the fix)."""
    from judge.checks import KINDS  # the kinds import runtime modules that import this one

    kinds = ", ".join(json.dumps(k) for k in sorted(KINDS)) or "(none registered)"
    if not CHECK_NAME.fullmatch(name):
        raise _At(
            f"check name {name!r} is not a plain name (it names metrics and details)",
            name,
            fix="use letters, digits, '_' and '-' (at most 64)",
        )
    if name in RESERVED_NAMES or name.startswith(("panel_spread_", "order_gap_")):
        raise _At(
            f"check name {name!r} is a metric's name in metrics_list",
            name,
            fix=f"rename [checks.{name}] (e.g. {name}_check)",
        )
    if not isinstance(table, dict):
        raise _At(
            f"checks.{name} = {_toml(table)}: expected a table",
            name,
            fix=_suggest(name, list(ChecksSettings.model_fields))
            or f"write [checks.{name}] with kind = ... (one of {kinds}) and its settings",
        )
    kind = table.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        close = _suggest(kind, list(KINDS)) if isinstance(kind, str) else None
        problem = (
            f"check {name!r} has no 'kind'"
            if kind is None
            else f"kind = {_toml(kind)}: not a check kind"
        )
        raise _At(problem, name, "kind", fix=close or f"use one of {kinds}")
    model = KINDS[kind]
    try:
        # As JSON, strictly: a TOML array is a list or a tuple, nothing else is converted.
        text = json.dumps(table, allow_nan=False)
    except (TypeError, ValueError):
        raise _At(
            f"check {name!r} holds a date/time or a non-finite number",
            name,
            fix="write its settings as text, numbers, booleans, arrays and tables",
        ) from None
    try:
        spec = model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise _Nested(exc, model, name) from None
    weight = spec.weight
    if not (math.isfinite(weight) and weight > 0):
        raise _At(
            f"weight = {_toml(weight)}: a weight is a positive number",
            *(name, "weight"),
            fix="use a weight above 0 (weights are normalised across rubrics and checks)",
        )
    return spec


class RuntimeSettings(_Strict):
    """Concurrency, deadline and cache."""

    concurrency: int = Field(32, ge=1, le=256)
    adaptive_concurrency: bool = True
    deadline_margin_ms: int = Field(1500, ge=0)
    cache: bool = True
    cache_dir: str | None = None
    cache_size_limit_mb: int = Field(256, ge=1)  # Lambda's /tmp is 512 MB by default


LengthControl = Literal["off", "calibrated", "group"]


class RewardSettings(_Strict):
    """How the reward treats response length and disagreement (README: "Length control").

    ``length_control``: ``off``; ``calibrated`` removes the judge's length preference beyond
    the humans' that calibration measured (a map whose slope's interval excludes 0);
    ``group`` does that too, and for rubrics whose maps measured none (no anchors) removes,
    within each prompt group, the reward/length slope beyond ``length_tolerance``.
    ``length_max_correction`` bounds either correction, as a share of the scale it works on
    (calibrated: the judge's scale, before the map; group: a dimension's 0..1 score).
    ``shrink`` (k, 0..1; 0: off): a dimension its judges or orders disagree on is pulled
    toward its prompt group's mean by ``min(1, k * disagreement)`` (``judge.shrink``).
    """

    length_control: LengthControl = "off"
    length_max_correction: float = Field(0.5, gt=0.0, le=1.0, allow_inf_nan=False)
    # group: the within-group slope kept, 0..1 score per unit of log(characters)
    length_tolerance: float = Field(0.05, ge=0.0, allow_inf_nan=False)
    shrink: float = Field(0.0, ge=0.0, le=1.0, allow_inf_nan=False)


class ModelPrice(_Strict):
    """One model's price in USD per 1,000 tokens (``[pricing."MODEL_ID"]``).

    A cache price left out is unknown, not free: a batch that read or wrote the cache then
    has an unknown cost.
    """

    input: float = Field(ge=0.0, allow_inf_nan=False)
    output: float = Field(ge=0.0, allow_inf_nan=False)
    cache_read: float | None = Field(None, ge=0.0, allow_inf_nan=False)
    cache_write: float | None = Field(None, ge=0.0, allow_inf_nan=False)


class Paths(_Strict):
    """Where rubrics, prompts and calibration artefacts live (relative to the config file)."""

    rubrics: str = "rubrics"
    prompts: str = "prompts"
    calibration: str = "calibration"


class RewardConfig(_Strict):
    """The whole reward configuration."""

    judge: JudgeSettings = JudgeSettings()
    retry: RetrySettings = RetrySettings()
    rubrics: dict[str, RubricWeight] = Field(min_length=1)
    gates: list[Gate] = Field(default_factory=list)
    checks: ChecksSettings = ChecksSettings()
    output: OutputRange = OutputRange()
    unscored: UnscoredPolicy = UnscoredPolicy()
    reward: RewardSettings = RewardSettings()
    guard: GuardSettings = GuardSettings()
    sample_rubric: SampleRubricSettings = SampleRubricSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    paths: Paths = Paths()
    # Overrides judge/data/prices.toml, keyed by model id or inference profile.
    pricing: dict[str, ModelPrice] = Field(default_factory=dict)
    base_dir: Path = Field(Path("."), exclude=True)
    # Where the config came from, for errors raised after loading (a missing rubric file).
    _source: Path | None = PrivateAttr(None)
    _lines: dict[Key, int] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> RewardConfig:
        lo, hi = self.output.min, self.output.max
        inside = f"use a value in the output range {lo}..{hi}"
        checks = self.checks.specs
        for name in checks:
            if name in self.rubrics or name == SAMPLE_RUBRIC:
                raise _At(
                    f"check {name!r} has the name of a rubric: a dimension name is used once",
                    *("checks", name),
                    fix=f"rename [checks.{name}] (e.g. {name}_check)",
                )
        dimensions = [*self.rubrics, SAMPLE_RUBRIC, *checks]
        for n, gate in enumerate(self.gates):
            if gate.rubric not in dimensions:
                raise _At(
                    f"gate names {gate.rubric!r}, which is not in [rubrics] or [checks]",
                    *("gates", n, "rubric"),
                    fix=_suggest(gate.rubric, dimensions)
                    or "add it to [rubrics] or [checks], or remove the gate",
                )
            if isinstance(gate.reward, float) and not math.isfinite(gate.reward):
                raise _At(
                    f"gate reward for {gate.rubric} must be a finite number",
                    *("gates", n, "reward"),
                    fix=inside,
                )
            if isinstance(gate.reward, float) and not lo <= gate.reward <= hi:
                raise _At(
                    f"gate reward {gate.reward} is outside the output range",
                    *("gates", n, "reward"),
                    fix=inside,
                )
        if not lo <= self.unscored.value <= hi:
            raise _At(
                "unscored.value must lie inside the output range", "unscored", "value", fix=inside
            )
        refused = self.unscored.refused
        if isinstance(refused, float) and not lo <= refused <= hi:
            raise _At(
                "unscored.refused must lie inside the output range",
                "unscored",
                "refused",
                fix=inside,
            )
        return self

    def source_error(self, loc: Sequence[str | int], problem: str, *, fix: str) -> SourceError:
        """An error about the config key at ``loc``: the config file, the key's line, the fix."""
        place = ".".join(str(p) for p in loc)
        source = self._source or self.base_dir / DEFAULT_CONFIG
        return SourceError(source, problem, line=line_of(self._lines, loc), place=place, fix=fix)

    def weight(self, dimension: str) -> float:
        """A dimension's weight: ``[rubrics]``, ``[checks.<name>]``, or ``[sample_rubric]``."""
        if dimension == SAMPLE_RUBRIC:
            return self.sample_rubric.weight
        if dimension in self.rubrics:
            return self.rubrics[dimension].weight
        return float(self.checks.specs[dimension].weight)

    def mode(self, rubric: str) -> JudgeMode:
        """How ``rubric`` is judged: its own ``mode``, else ``[judge] mode``."""
        own = self.rubrics[rubric].mode if rubric in self.rubrics else None
        return own or self.judge.mode

    def refused_reward(self) -> float:
        """The reward for a sample the judge refused to score."""
        refused = self.unscored.refused
        return self.output.min if refused == "floor" else float(refused)

    def path(self, which: Literal["rubrics", "prompts", "calibration"]) -> Path:
        """An absolute directory from ``[paths]``."""
        relative: str = getattr(self.paths, which)
        return (self.base_dir / relative).resolve()

    def cache_dir(self) -> Path | None:
        """The verdict cache directory (``JUDGE_CACHE_DIR`` wins), or None when disabled."""
        if not self.runtime.cache:
            return None
        if env := os.environ.get(CACHE_ENV):
            return Path(env)
        if self.runtime.cache_dir:
            return (self.base_dir / os.path.expanduser(self.runtime.cache_dir)).resolve()
        if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
            return Path("/tmp/judge-cache")
        return Path(os.path.expanduser("~/.cache/rlaif-judge"))


def resolve_config_path(explicit: str | Path | None = None) -> Path:
    """``--config`` wins, then ``JUDGE_CONFIG``, then ``reward.toml`` in the working dir."""
    return _config_source(explicit)[0]


def _config_source(explicit: str | Path | None) -> tuple[Path, str]:
    """The config path and where it came from (no fallback: a wrong path is an error)."""
    if explicit:
        return Path(explicit), "given"
    if env := os.environ.get(CONFIG_ENV):
        return Path(env), "env"
    return Path(DEFAULT_CONFIG), "default"


def load_config(path: str | Path | None = None) -> RewardConfig:
    """Read and validate the reward config."""
    p, origin = _config_source(path)
    if not p.is_file():
        raise _not_found(p, origin)
    text = read_text(p, "config")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"at line (\d+)", str(exc))
        raise SourceError(
            p,
            f"not valid TOML ({exc})",
            line=int(at.group(1)) if at else None,
            fix="correct the TOML syntax",
        ) from exc
    return parse_config(raw, p, text)


def _not_found(path: Path, origin: str) -> SourceError:
    """Say which path was tried and why that one, so the user knows what to change."""
    where = path.resolve()
    if origin == "given":
        tried = f"the path given (--config): {where}"
        fix = "correct the path (JUDGE_CONFIG and ./reward.toml are not used when one is given)"
    elif origin == "env":
        tried = f"{CONFIG_ENV}={os.environ.get(CONFIG_ENV)} ({where}); no --config was given"
        fix = f"correct or unset {CONFIG_ENV} (then ./{DEFAULT_CONFIG} is used), or pass --config"
    else:
        tried = (
            f"./{DEFAULT_CONFIG} in the working directory ({where}); no --config was given and "
            f"{CONFIG_ENV} is not set"
        )
        fix = f"run from the project directory, pass --config PATH or set {CONFIG_ENV}=PATH"
    if path.is_dir():
        tried = f"{tried} is a directory"
        inside = path / DEFAULT_CONFIG
        if inside.is_file():
            fix = f"point at {inside}"
    else:
        near = [d / DEFAULT_CONFIG for d in where.parents if (d / DEFAULT_CONFIG).is_file()]
        if near:
            fix = f"{fix} (there is one at {near[0]})"
    return SourceError(path, f"config file not found; tried {tried}", fix=fix)


def parse_config(raw: dict[str, Any], path: Path, text: str | None = None) -> RewardConfig:
    """Validate a parsed TOML mapping; errors name the key, and its line when ``text`` is given."""
    lines = key_lines(text) if text is not None else {}
    if "base_dir" in raw:  # set from the config's location, never from the file
        raise SourceError(
            path,
            "unknown key 'base_dir'",
            line=line_of(lines, ("base_dir",)),
            place="base_dir",
            fix="remove it ([paths] are relative to the config file)",
        )
    try:
        config = RewardConfig.model_validate({**raw, "base_dir": path.resolve().parent})
    except ValidationError as exc:
        raise _config_error(exc, raw, path, lines) from None
    config._source = path
    config._lines = lines
    return config


_FIXES = {
    "value_error": "make the values consistent",
    "greater_than": "use a larger value",
    "greater_than_equal": "use a larger value",
    "less_than": "use a smaller value",
    "less_than_equal": "use a smaller value",
    "too_short": "list at least one entry",
    "too_long": "list fewer entries",
    "string_too_short": "write a non-empty value",
    "finite_number": "use a finite number",
}

# What a strict type error expected, and an example of it for the fix.
_EXPECTED = {
    "float_type": ("a number", "0.5"),
    "int_type": ("a whole number", "1"),
    "bool_type": ("true or false (no quotes)", "true"),
    "string_type": ('text in quotes ("...")', '"..."'),
    "list_type": ("a list [...]", "[...]"),
    "tuple_type": ("a list [min, max]", "[1, 10]"),
    "dict_type": ("a table", "{ ... }"),
    "model_type": ("a table", "{ ... }"),
}
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_ABSENT = object()


def _config_error(
    exc: ValidationError,
    raw: dict[str, Any],
    path: Path,
    lines: dict[Key, int],
    within: tuple[Key, type[BaseModel]] = ((), BaseModel),
) -> SourceError:
    """The first validation error as a SourceError: file, line, key, given, expected, fix.

    A typo is both an unknown key and a missing one: the unknown key is named first.
    ``within``: the errors are a ``[checks.<name>]`` table's (its place and kind model).
    """
    prefix, model = within
    errors = exc.errors()
    err = min(errors, key=lambda e: e["type"] != "extra_forbidden")
    local = _value_at(raw, prefix)
    loc = prefix + _data_loc(err, local)
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, _Nested):  # a check's table: its kind's errors, placed in the file
        return _config_error(cause.error, raw, path, lines, (loc, cause.model))
    place = ".".join(str(p) for p in loc) or "(top level)"
    line = line_of(lines, loc)
    if err["type"] == "extra_forbidden":
        fields = _model_at(loc[:-1]) if not prefix else list(model.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "remove it"
        return SourceError(path, f"unknown key '{place}'", line=line, place=place, fix=hint)
    if isinstance(cause, _At):
        return SourceError(path, str(cause), line=line, place=place, fix=cause.fix)
    name = _key_name(loc)
    given = _value_at(raw, loc)
    if err["type"] == "missing":
        fix = f"add the key: {name} = ..." + (f" in {_table_name(loc[:-1])}" if loc[:-1] else "")
        if loc == ("rubrics",):
            fix = "add a [rubrics] table naming at least one rubric: tone = { weight = 1.0 }"
        return SourceError(path, f"'{name}' is missing", line=line, place=place, fix=fix)
    same = [e for e in errors if prefix + _data_loc(e, local) == loc]
    if prefix:  # in a check's table a tuple is any TOML array
        same = [_as_list_error(e) for e in same]
    if any(e["type"] in _EXPECTED or e["type"] == "literal_error" for e in same):
        problem, fix = _type_error(name, given, same, last_is_index=isinstance(loc[-1], int))
        bare_weight = isinstance(given, int | float) and not isinstance(given, bool)
        if len(loc) == 2 and loc[0] == "rubrics" and bare_weight:
            fix = f"write {name} = {{ weight = {_toml(given)} }}"  # a bare weight
        return SourceError(path, problem, line=line, place=place, fix=fix)
    msg, _, own_fix = err["msg"].removeprefix("Value error, ").partition(" Fix: ")
    msg = msg.removesuffix(".") if own_fix else msg
    problem = (
        msg if given is _ABSENT or isinstance(given, dict) else f"{name} = {_toml(given)}: {msg}"
    )
    fix = own_fix or _FIXES.get(err["type"], "see the commented reward.toml in the repo")
    return SourceError(path, problem, line=line, place=place, fix=fix)


def _as_list_error(err: ErrorDetails) -> ErrorDetails:
    """A tuple's type error read as a list's (TOML has arrays; a check's tuple is one)."""
    if err["type"] != "tuple_type":
        return err
    out = err.copy()
    out["type"] = "list_type"
    return out


def _type_error(
    name: str, given: Any, same: list[ErrorDetails], *, last_is_index: bool
) -> tuple[str, str]:
    """Problem and fix for a value of the wrong type, or a string not among the choices."""
    types = [e["type"] for e in same if e["type"] in _EXPECTED]
    choices = [
        c
        for e in same
        if e["type"] == "literal_error"
        for c in re.findall(r"'([^']*)'", str((e.get("ctx") or {}).get("expected", "")))
    ]
    wanted = [_EXPECTED[t][0] for t in types]
    if choices:
        quoted = [json.dumps(c) for c in choices]
        one_of = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        wanted.append(one_of if types or len(quoted) == 1 else f"one of {one_of}")
    problem = f"{name} = {_toml(given)}: expected {' or '.join(wanted)}"
    if types or not isinstance(given, str):
        problem += f", got {_kind(given)}"

    def write(value: str) -> str:
        return f"write {value} for {name}" if last_is_index else f"write {name} = {value}"

    close = difflib.get_close_matches(given, choices, n=1) if isinstance(given, str) else []
    if close:
        return problem, f"did you mean '{close[0]}'? {write(json.dumps(close[0]))}"
    if (value := _converted(given, types)) is not None:
        unquoted = isinstance(given, str) and value[0] not in '"['
        return problem, write(value) + (" (without quotes)" if unquoted else "")
    if choices and not types:
        return problem, f"use one of {', '.join(json.dumps(c) for c in choices)}"
    examples = [_EXPECTED[t][1] for t in types] + [json.dumps(c) for c in choices]
    return problem, f"{write(examples[0])}" + (
        f" (or {', '.join(examples[1:])})" if examples[1:] else ""
    )


def _suggest(given: str, choices: Sequence[str]) -> str | None:
    """``did you mean 'x'?`` for the closest valid value, or None when none is close."""
    close = difflib.get_close_matches(given, list(choices), n=1)
    return f"did you mean '{close[0]}'?" if close else None


def _converted(given: Any, types: list[str]) -> str | None:
    """``given`` written as the expected type, when it plainly means one (``"0.3"`` -> 0.3)."""
    text = given.strip() if isinstance(given, str) else None
    if "bool_type" in types:
        word = text.lower() if text is not None else str(given) if given in (0, 1) else None
        if word in _TRUE or word in _FALSE:
            return "true" if word in _TRUE else "false"
    if "int_type" in types:
        if text is not None and re.fullmatch(r"[+-]?\d+", text.replace("_", "")):
            return str(int(text.replace("_", "")))
        if isinstance(given, float) and math.isfinite(given):
            return str(round(given))
    if "float_type" in types and text is not None:
        try:
            number = float(text.replace("_", ""))
        except ValueError:
            return None
        return text if math.isfinite(number) else None
    if "string_type" in types and isinstance(given, int | float) and not isinstance(given, bool):
        return json.dumps(str(given))
    if ("list_type" in types or "tuple_type" in types) and text is not None:
        return f"[{json.dumps(given)}]" if "list_type" in types else None
    return None


def _data_loc(err: ErrorDetails, raw: dict[str, Any]) -> Key:
    """The error's place in the config data: union branch tags dropped, _At's place added."""
    loc: Key = tuple(err["loc"])
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, _At):
        loc += cause.loc
    node: Any = raw
    out: list[str | int] = []
    for n, part in enumerate(loc):
        if isinstance(node, dict) and part == "rubric" and "dimension" in node:
            part = "dimension"  # a gate written with the alias (``Gate._dimension``)
        inside = isinstance(node, dict) and part in node
        inside |= isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if inside:
            node = node[part]
        elif not (err["type"] == "missing" and n == len(loc) - 1):
            break
        out.append(part)
    return tuple(out)


def _value_at(raw: dict[str, Any], loc: Key) -> Any:
    node: Any = raw
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return _ABSENT
    return node


def _key_name(loc: Key) -> str:
    """The key as written in its table: ``weight``, ``implicit_scale[0]``, ``panel[1]``."""
    names = [i for i, p in enumerate(loc) if isinstance(p, str)]
    if not names:
        return "(top level)"
    last = names[-1]
    return str(loc[last]) + "".join(f"[{p}]" for p in loc[last + 1 :])


def _table_name(loc: Key) -> str:
    """A table as the user wrote it: ``[rubrics.tone]``, ``[[gates]] #2``."""
    keys = [json.dumps(p) if re.search(r"[^\w-]", p) else p for p in loc if isinstance(p, str)]
    if loc and isinstance(loc[-1], int):
        return f"[[{'.'.join(keys)}]] #{loc[-1] + 1}"
    return f"[{'.'.join(keys)}]"


def _toml(value: Any) -> str:
    """A value as TOML would write it, shortened."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, list):
        text = "[" + ", ".join(_toml(v) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (list, "a list"),
        (dict, "a table"),
        ((datetime, date, time), "a date/time"),
    ]
    return next((name for typ, name in kinds if isinstance(value, typ)), type(value).__name__)


def _model_at(loc: Sequence[int | str]) -> list[str]:
    """Field names of the config section at ``loc``, for 'did you mean' hints."""
    model: type[BaseModel] = RewardConfig
    parts = list(loc)
    while parts:
        field = model.model_fields.get(str(parts.pop(0)))
        typ = getattr(field, "annotation", None)
        if get_origin(typ) in (dict, list) and get_args(typ):
            typ = get_args(typ)[-1]  # [rubrics.<name>] or [[gates]]: skip the key/index
            if parts:
                parts.pop(0)
        if not (isinstance(typ, type) and issubclass(typ, BaseModel)):
            return []
        model = typ
    return [n for n in model.model_fields if n != "base_dir"]
