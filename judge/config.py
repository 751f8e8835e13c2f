"""The reward config (``reward.toml``): which judge, which rubrics, how scores combine.

Validated with pydantic; unknown keys are errors (a typo must not silently fall back to a
default inside a training run), and every error names the file, the key and the fix.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from judge.errors import SourceError, read_text

CONFIG_ENV = "JUDGE_CONFIG"
SAMPLE_RUBRIC = "sample_rubric"  # the dimension a sample's own rubric scores
CACHE_ENV = "JUDGE_CACHE_DIR"
DEFAULT_CONFIG = "reward.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
        if len(set(ids)) < len(ids):
            raise ValueError(
                "a panel lists the same model_id twice (its verdicts would come from the cache)"
            )
        if self.quorum is not None and not self.panel:
            raise ValueError("quorum is set but there is no panel: add [judge] panel or remove it")
        if self.quorum is not None and self.quorum > len(self.panel):
            raise ValueError(f"quorum {self.quorum} is larger than the panel ({len(ids)})")
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
    """If ``rubric``'s normalised score is below ``below``, the reward becomes ``reward``."""

    rubric: str
    below: float = Field(ge=0.0, le=1.0)
    reward: float | Literal["floor"] = "floor"


class OutputRange(_Strict):
    """The range of ``aggregate_reward_score``."""

    min: float = Field(-1.0, allow_inf_nan=False)
    max: float = Field(1.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> OutputRange:
        if not self.min < self.max:
            raise ValueError("output.min must be below output.max")
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
    regular expressions a whole (short) answer must not match.
    """

    enabled: bool = True
    extra_phrases: list[str] = Field(default_factory=list)
    lexicon: str | None = None
    extra_patterns: list[str] = Field(default_factory=list)
    echo: bool = True
    max_chars: int = Field(20000, ge=1)

    @field_validator("extra_patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"extra pattern {pattern!r} is not a valid regex: {exc}") from None
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

    @field_validator("implicit_scale")
    @classmethod
    def _scale(cls, scale: tuple[int, int]) -> tuple[int, int]:
        if not scale[0] < scale[1] or scale[1] - scale[0] > 20:
            raise ValueError("implicit_scale must be [min, max] with min < max, at most 21 levels")
        return scale


class RuntimeSettings(_Strict):
    """Concurrency, deadline and cache."""

    concurrency: int = Field(32, ge=1, le=256)
    adaptive_concurrency: bool = True
    deadline_margin_ms: int = Field(1500, ge=0)
    cache: bool = True
    cache_dir: str | None = None
    cache_size_limit_mb: int = Field(256, ge=1)  # Lambda's /tmp is 512 MB by default


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
    output: OutputRange = OutputRange()
    unscored: UnscoredPolicy = UnscoredPolicy()
    guard: GuardSettings = GuardSettings()
    sample_rubric: SampleRubricSettings = SampleRubricSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    paths: Paths = Paths()
    # Overrides judge/data/prices.toml, keyed by model id or inference profile.
    pricing: dict[str, ModelPrice] = Field(default_factory=dict)
    base_dir: Path = Field(Path("."), exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> RewardConfig:
        for gate in self.gates:
            if gate.rubric not in self.rubrics and gate.rubric != SAMPLE_RUBRIC:
                raise ValueError(f"gate names rubric {gate.rubric!r}, which is not in [rubrics]")
            if (
                isinstance(gate.reward, float)
                and not self.output.min <= gate.reward <= self.output.max
            ):
                raise ValueError(f"gate reward {gate.reward} is outside the output range")
        if not self.output.min <= self.unscored.value <= self.output.max:
            raise ValueError("unscored.value must lie inside the output range")
        refused = self.unscored.refused
        if isinstance(refused, float) and not self.output.min <= refused <= self.output.max:
            raise ValueError("unscored.refused must lie inside the output range")
        for gate in self.gates:
            if isinstance(gate.reward, float) and not math.isfinite(gate.reward):
                raise ValueError(f"gate reward for {gate.rubric} must be a finite number")
        return self

    def weight(self, dimension: str) -> float:
        """A dimension's weight: from ``[rubrics]``, or ``[sample_rubric]`` for a sample's own."""
        if dimension == SAMPLE_RUBRIC:
            return self.sample_rubric.weight
        return self.rubrics[dimension].weight

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
    if explicit:
        return Path(explicit)
    if env := os.environ.get(CONFIG_ENV):
        return Path(env)
    return Path(DEFAULT_CONFIG)


def load_config(path: str | Path | None = None) -> RewardConfig:
    """Read and validate the reward config."""
    p = resolve_config_path(path)
    if not p.is_file():
        raise SourceError(
            p, "config file not found", fix=f"create it, or point --config / {CONFIG_ENV} at it"
        )
    try:
        raw = tomllib.loads(read_text(p, "config"))
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(p, f"not valid TOML ({exc})", fix="correct the TOML syntax") from exc
    return parse_config(raw, p)


def parse_config(raw: dict[str, Any], path: Path) -> RewardConfig:
    """Validate a parsed TOML mapping; errors name the key."""
    try:
        return RewardConfig.model_validate({**raw, "base_dir": path.resolve().parent})
    except ValidationError as exc:
        # A typo is both an unknown key and a missing one: name the typo.
        err = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            parent = _model_at(err["loc"][:-1])
            close = difflib.get_close_matches(str(err["loc"][-1]), parent, n=1) if parent else []
            hint = f"did you mean '{close[0]}'?" if close else "remove it"
            raise SourceError(path, f"unknown key '{key}'", place=key, fix=hint) from None
        raise SourceError(
            path,
            err["msg"].removeprefix("Value error, "),
            place=key,
            fix=_FIXES.get(err["type"], "see the commented reward.toml in the repo"),
        ) from None


_FIXES = {
    "missing": "add the key",
    "greater_than": "use a larger value",
    "greater_than_equal": "use a larger value",
    "less_than_equal": "use a smaller value",
    "too_short": "list at least one entry",
    "literal_error": "use one of the listed values",
    "value_error": "make the values consistent",
    "finite_number": "use a finite number",
}


def _model_at(loc: tuple[int | str, ...]) -> list[str]:
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
