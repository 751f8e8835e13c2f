"""Judges as values: each judge is a model's settings, its caller and its calibration maps.

A panel is its judges plus the config's reducer and quorum (``[judge] aggregation`` and
``min_members``); ``judge.panel.settle`` reduces their verdicts through ``judge.reduce``, as
checklist votes are. Building them here keeps the client, cache and map loading out of the
code that plans and runs judgements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from judge.artefact import endpoint_kind, maps_in_force
from judge.bedrock import make_client
from judge.cache import VerdictCache
from judge.caller import JudgeCaller
from judge.config import JudgeSettings, RewardConfig, RewardSettings
from judge.errors import JudgeError
from judge.limiter import AdaptiveLimit
from judge.maps import LengthBias, ScoreMap
from judge.prompt import PromptRenderer
from judge.reward import normalize
from judge.rubric import Rubric

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient


@dataclass(frozen=True)
class Judge:
    """One judge: its model and inference settings, the caller that reaches it, its maps."""

    settings: JudgeSettings
    caller: JudgeCaller
    maps: dict[str, ScoreMap] = field(default_factory=dict)

    def to_unit(self, rubric: Rubric, score: float) -> float:
        """A verdict on 0..1: through this judge's map for ``rubric`` when one is in force.

        ``score`` is the judge's (a length-corrected one may fall between its levels).
        """
        score_map = self.maps.get(rubric.name)
        if score_map is not None:
            return score_map.to_unit(score)
        return normalize(score, rubric.scale_min, rubric.scale_max)

    def length_bias(self, rubric: str) -> LengthBias | None:
        """The length preference calibration measured for ``rubric`` (None: not measured)."""
        score_map = self.maps.get(rubric)
        return score_map.length if score_map is not None else None


@dataclass(frozen=True)
class Panel:
    """The judges in config order (one without a panel) and how their verdicts combine.

    ``stale``: calibration maps found but not applied (rubric -> why), reported as a metric.
    """

    judges: tuple[Judge, ...]
    settings: JudgeSettings  # aggregation and quorum (``min_members``)
    endpoint_url: str
    stale: dict[str, str] = field(default_factory=dict)
    reward: RewardSettings = field(default_factory=RewardSettings)  # length control

    @property
    def endpoint(self) -> str:
        """``aws`` or ``custom``: which kind of endpoint the verdicts come from."""
        return endpoint_kind(self.endpoint_url)

    @property
    def model_ids(self) -> list[str]:
        """Each judge's model id, in panel order."""
        return [j.settings.model_id for j in self.judges]

    def to_unit(
        self, rubric: Rubric, score: int, member: int = 0, chars: int | None = None
    ) -> float:
        """Judge ``member``'s verdict on 0..1 (its own calibration map first).

        With ``chars`` (the response's length) and length control on, the judge's length
        preference beyond the humans' is taken off the raw score before the map, where its map
        measured one whose interval excludes 0 (``LengthBias.correction``; the cap,
        ``length_max_correction``, is a share of the judge's scale).
        """
        judge = self.judges[member]
        if chars is None or self.reward.length_control == "off":
            return judge.to_unit(rubric, score)
        bias = judge.length_bias(rubric.name)
        if bias is None or not bias.significant:
            return judge.to_unit(rubric, score)
        scale = (rubric.scale_min, rubric.scale_max)
        cap = self.reward.length_max_correction * (scale[1] - scale[0])
        return judge.to_unit(rubric, score - bias.correction(score, chars, scale, cap))

    def length_measured(self, rubric: str) -> bool:
        """Whether calibration measured the length preference of every judge on ``rubric``."""
        return all(j.length_bias(rubric) is not None for j in self.judges)


def make_callers(
    config: RewardConfig, client: BedrockRuntimeClient | None = None
) -> list[JudgeCaller]:
    """One caller per judge, sharing one verdict cache (``client``: the first judge's)."""
    cache = VerdictCache(config.cache_dir(), config.runtime.cache_size_limit_mb)
    callers = []
    for i, judge in enumerate(config.judge.members()):
        own = client if (client is not None and i == 0) else None
        limit = (
            AdaptiveLimit(config.runtime.concurrency)
            if config.runtime.adaptive_concurrency
            else None
        )
        callers.append(
            JudgeCaller(
                own or make_client(judge, config.runtime.concurrency),
                judge,
                config.retry,
                cache,
                limit,
            )
        )
    return callers


def make_panel(
    config: RewardConfig,
    rubrics: dict[str, Rubric],
    renderer: PromptRenderer,
    callers: Sequence[JudgeCaller],
) -> Panel:
    """The configured judges with the calibration maps that match what they judge.

    A map applies only to the rubric, templates, mode, model and kind of endpoint it was
    fitted on (per panel judge); stale ones are reported (log warning + metric), not applied.
    """
    members = config.judge.members()
    if len(callers) != len(members):
        raise JudgeError(f"{len(members)} judge(s) configured but {len(callers)} caller(s) given")
    endpoint_url = str(callers[0].client.meta.endpoint_url)
    endpoint = endpoint_kind(endpoint_url)
    judges: list[Judge] = []
    stale: dict[str, str] = {}
    for settings, caller in zip(members, callers, strict=True):
        maps, old = maps_in_force(
            config.path("calibration"),
            rubrics,
            renderer.hash_for,
            settings,
            endpoint,
            modes=config.mode,
            member=settings.model_id if config.judge.panel else None,
        )
        judges.append(Judge(settings, caller, maps))
        stale.update(old)
    return Panel(tuple(judges), config.judge, endpoint_url, stale, config.reward)
