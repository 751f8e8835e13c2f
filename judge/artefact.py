"""The calibration artefact (``calibration/<rubric>.json``) and the check that it still applies.

A map is only valid for the rubric text, prompt template, judge model and inference settings
it was fitted with. If any of them changed since, the Lambda must not apply a stale map.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, ValidationError

from judge.config import JudgeMode, JudgeSettings
from judge.errors import SourceError, read_text
from judge.maps import ScoreMap
from judge.rubric import Rubric

log = logging.getLogger("judge")

ARTEFACT_FORMAT = 1


class HumanScale(BaseModel):
    """The anchors' label range."""

    model_config = ConfigDict(frozen=True)

    min: float
    max: float


class Artefact(BaseModel):
    """Everything needed to apply a map, and to know whether it may be applied."""

    model_config = ConfigDict(frozen=True, extra="allow")

    format: int = ARTEFACT_FORMAT
    rubric: str
    rubric_hash: str
    template_hash: str
    model_id: str
    inference: dict[str, Any]
    anchors_file: str
    anchors_hash: str
    human_scale: HumanScale
    map: ScoreMap
    metrics: dict[str, Any]
    endpoint: str = "aws"
    created: str = ""


def inference_fingerprint(settings: JudgeSettings, mode: JudgeMode = "pointwise") -> dict[str, Any]:
    """The inference settings a map depends on (and the judging mode it was fitted in)."""
    fingerprint: dict[str, Any] = {
        "inferenceConfig": settings.inference_config(),
        "additionalModelRequestFields": settings.request_fields(),
        "verdict_mode": settings.verdict_mode,
        "spotlight": settings.spotlight,  # what the judge read: marked, encoded or plain
    }
    if mode == "group":  # a score given beside other responses is another judge's
        fingerprint["mode"] = "group"
        fingerprint["group_orders"] = settings.group_orders
        fingerprint["group_max_size"] = settings.group_max_size
        fingerprint["group_max_chars"] = settings.group_max_chars
    elif settings.combine_rubrics:  # verdicts from a combined call are another judge's
        fingerprint["combine_rubrics"] = True
    return fingerprint


def member_slug(model_id: str) -> str:
    """A panel judge's model id as a file-name part."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)


def endpoint_kind(url: str) -> str:
    """``aws`` for Bedrock's own endpoints, ``custom`` for anything else (a local server).

    A map fitted against a local stand-in model must never be applied to Bedrock's verdicts,
    even when the config names the same model id.
    """
    host = urlparse(url).hostname or ""
    return "aws" if host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws")) else "custom"


def artefact_path(directory: Path, rubric: str, member: str | None = None) -> Path:
    """Where a rubric's artefact lives (``<rubric>@<model>.json`` for a panel's judge)."""
    if member is not None:
        return directory / f"{rubric}@{member_slug(member)}.json"
    return directory / f"{rubric}.json"


def load_artefact(path: Path) -> Artefact | None:
    """The artefact at ``path``, None if there is none; a broken file is a clear error."""
    if not path.is_file():
        return None
    text = read_text(path, "calibration artefact")
    try:
        return Artefact.model_validate(json.loads(text))
    except (json.JSONDecodeError, ValidationError, RecursionError) as exc:
        raise SourceError(
            path,
            f"not a valid calibration artefact ({str(exc).splitlines()[0]})",
            fix="re-run `judge calibrate` for this rubric, or delete the file",
        ) from None


def mismatches(
    artefact: Artefact,
    rubric: Rubric,
    template_hash: str,
    settings: JudgeSettings,
    endpoint: str,
    mode: JudgeMode = "pointwise",
) -> list[str]:
    """What differs between the artefact and what is in use (empty: the map applies).

    ``template_hash`` is the one of ``mode``'s templates (``PromptRenderer.hash_for``).
    """
    out = []
    if artefact.endpoint != endpoint:
        out.append(f"it was fitted against a {artefact.endpoint} endpoint, this is {endpoint}")
    if artefact.rubric_hash != rubric.content_hash:
        out.append("the rubric file changed")
    fitted = artefact.inference.get("mode", "pointwise")
    if artefact.template_hash != template_hash and fitted == mode:
        out.append("the prompt templates changed")
    if artefact.model_id != settings.model_id:
        out.append(f"the judge model is {settings.model_id}, not {artefact.model_id}")
    if artefact.inference != inference_fingerprint(settings, mode):
        out.append(
            f"it was fitted in {fitted} mode, the rubric is judged in {mode} mode"
            if fitted != mode
            else "the inference settings changed"
        )
    return out


def maps_in_force(
    directory: Path,
    rubrics: dict[str, Rubric],
    template_hashes: Callable[[JudgeMode], str],
    settings: JudgeSettings,
    endpoint: str,
    *,
    modes: Callable[[str], JudgeMode] = lambda _: "pointwise",
    member: str | None = None,
) -> tuple[dict[str, ScoreMap], dict[str, str]]:
    """Maps that apply, and for stale or unreadable artefacts the reason they are not applied.

    ``template_hashes`` and ``modes`` give each rubric's template hash and judging mode;
    ``member`` names a panel judge (its maps are ``<rubric>@<model>.json``). Never raises for
    a bad artefact: a Lambda that cannot start loses every reward of the batch, while the raw
    scale (flagged by the ``calibration_stale`` metric) loses none.
    """
    maps: dict[str, ScoreMap] = {}
    stale: dict[str, str] = {}
    for rubric in rubrics.values():
        path = artefact_path(directory, rubric.name, member)
        name = path.stem  # the artefact's name: the rubric's, or <rubric>@<model>
        try:
            artefact = load_artefact(path)
        except SourceError as exc:  # an unreadable map must not stop the Lambda: use raw scores
            stale[name] = f"the artefact is unusable: {exc.problem}"
            log.warning("calibration for %s is UNUSABLE, using the raw judge scale: %s", name, exc)
            continue
        if artefact is None:
            continue
        mode = modes(rubric.name)
        problems = mismatches(artefact, rubric, template_hashes(mode), settings, endpoint, mode)
        if problems:
            stale[name] = "; ".join(problems)
            log.warning(
                "calibration for %s is STALE (%s): using the raw judge scale. "
                "Re-run `judge calibrate --rubric %s`.",
                name,
                stale[name],
                rubric.name,
            )
        else:
            maps[rubric.name] = artefact.map
    return maps, stale
