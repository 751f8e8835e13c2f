"""The human-label loop's parts: agreement, selection, Label Studio files, import and merge."""

from __future__ import annotations

import json
import os
import random
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from judge.annotate.agreement import judge_human, krippendorff_alpha
from judge.annotate.ingest import read_export
from judge.annotate.items import Item, items_of
from judge.annotate.loop import import_labels
from judge.annotate.merge import labelled_keys, read_entries
from judge.annotate.select import Candidate, Signals, select, signals
from judge.annotate.studio import instructions, labelling_config, task
from judge.calibration.anchors import load_anchors
from judge.calibration.stats import krippendorff_interval
from judge.errors import SourceError
from judge.prompt import JudgeInput, Turn
from judge.rubric import Rubric, load_rubrics, parse_rubric
from tests.conftest import REPO

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the worked example with
# missing data: 4 observers, 12 units, values 1..5. Published: nominal 0.743, ordinal 0.815,
# interval 0.849.
_K2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
LS_PYTHON = REPO / ".venv-labelstudio" / "bin" / "python"


def _units() -> list[list[float]]:
    return [[float(v) for v in col if v is not None] for col in zip(*_K2011, strict=True)]


@pytest.mark.parametrize(
    ("metric", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_alpha_reproduces_krippendorffs_worked_example(metric: Any, published: float) -> None:
    assert round(krippendorff_alpha(_units(), metric), 3) == published


def test_interval_alpha_agrees_with_the_calibration_statistics() -> None:
    rng = random.Random(3)
    for _ in range(20):
        units = [[rng.randint(1, 5) for _ in range(rng.randint(1, 4))] for _ in range(30)]
        ours = krippendorff_alpha([[float(v) for v in u] for u in units], "interval")
        assert ours == pytest.approx(krippendorff_interval(units), abs=1e-12)


def test_alpha_is_nan_without_pairable_units_and_one_when_all_agree() -> None:
    assert krippendorff_alpha([[1.0], [2.0]]) != krippendorff_alpha([[1.0], [2.0]])  # NaN
    assert krippendorff_alpha([[1.0, 1.0], [3.0, 3.0, 3.0], [5.0, 5.0]]) == 1.0


def test_judge_human_figures() -> None:
    out = judge_human([1.0, 3.0, 5.0, float("nan")], [1.0, 4.0, 5.0, 2.0])
    assert out["items"] == 3
    assert out["mae"] == pytest.approx(1 / 3)
    assert out["exact"] == pytest.approx(2 / 3)


# -- selection --------------------------------------------------------------------------------


def test_signals_read_disagreement_uncertainty_and_gates() -> None:
    dim = {"raw": 3.0, "normalized": 0.625, "panel_spread": 0.5}  # 3.5 on 1..5
    s = signals(dim, (1, 5), gates=[0.5])
    assert s.disagreement == 0.5
    assert s.uncertainty == pytest.approx(1.0)  # half-way between two levels
    assert s.near_gate == pytest.approx(0.5)  # half a level from the threshold
    on_level = signals({"raw": 4, "normalized": 0.75, "order_gap": 0.25}, (1, 5))
    assert (on_level.uncertainty, on_level.disagreement, on_level.near_gate) == (0.0, 0.25, 0.0)
    judges = signals(
        {"raw": 3, "normalized": 0.5, "judgements": [{"calibrated": 0.25}, {"calibrated": 1.0}]},
        (1, 5),
    )
    assert judges.disagreement == 0.75


@pytest.mark.parametrize(
    "dim",
    [None, "text", {"raw": "5", "normalized": float("nan"), "panel_spread": [1]}, {"raw": True}],
)
def test_hostile_details_give_no_signal(dim: Any) -> None:
    s = signals(dim, (1, 5), gates=[0.5])
    assert s.priority == 0.0 and s.raw is None and s.normalized is None


def _item(i: int) -> Item:
    return Item(f"i{i}", JudgeInput((Turn("user", "q"),), f"response {i}"))


def _cands(n: int, seed: int = 0) -> list[Candidate]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        raw = float(rng.randint(1, 5))
        out.append(Candidate(_item(i), Signals(disagreement=rng.random(), raw=raw, normalized=0.5)))
    return out


def test_selection_takes_a_random_share_and_the_rest_by_priority() -> None:
    cands = _cands(200)
    chosen = select(cands, 40, random_share=0.25, seed=1)
    assert len(chosen) == 40 and len({c.candidate.item.key for c in chosen}) == 40
    assert sum(c.selected_by == "random" for c in chosen) == 10
    targeted = [c.candidate for c in chosen if c.selected_by == "targeted"]
    mean_all = sum(c.signals.priority for c in cands) / len(cands)
    mean_targeted = sum(c.signals.priority for c in targeted) / len(targeted)
    assert mean_targeted > mean_all + 0.25
    assert select(cands, 40, random_share=0.25, seed=1) == chosen  # reproducible


def test_selection_covers_the_scale() -> None:
    # Every high-priority item is a 3; the levels still each get some labels.
    cands = [
        Candidate(_item(i), Signals(disagreement=0.9 if i % 5 == 2 else 0.1, raw=1 + i % 5))
        for i in range(100)
    ]
    chosen = select(cands, 20, random_share=0.0)
    levels = {c.candidate.level for c in chosen}
    assert levels == {1, 2, 3, 4, 5}
    assert sum(c.candidate.level == 3 for c in chosen) > 4  # the priority still counts


def test_selection_never_offers_labelled_items_or_unscored_ones_as_targeted() -> None:
    cands = _cands(30)
    unscored = [Candidate(_item(100 + i)) for i in range(10)]
    done = {c.item.key for c in cands[:10]}
    chosen = select(cands + unscored, 100, exclude=done, random_share=0.0)
    keys = {c.candidate.item.key for c in chosen}
    assert not keys & done and len(chosen) == 30
    # The 20 unlabelled scored items are targeted; the unscored ones only fill up, marked.
    how = {c.candidate.item.id: c.selected_by for c in chosen}
    assert sum(v == "targeted" for v in how.values()) == 20
    assert {k for k, v in how.items() if v == "unscored"} == {f"i{100 + i}" for i in range(10)}
    # Nothing scored at all (no verdicts for this rubric): n items all the same.
    assert [c.selected_by for c in select(unscored, 5)] == ["random"] + ["unscored"] * 4


def test_items_of_a_dataset_skip_malformed_samples() -> None:
    samples: list[Any] = [
        {
            "id": 7,
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
        },
        {"id": "x", "messages": "nope"},
        "junk",
    ]
    items, skipped = items_of(samples)
    assert [i.id for i in items] == ["7"] and skipped == 2


# -- Label Studio files -----------------------------------------------------------------------

HOSTILE = """---
name: hostile
title: "T <b>&amp; $response \\" ]]>"
scale: {min: 0, max: 2}
---

## Definition

Ignore "quotes", <script>alert(1)</script> & $dialogue; also \x01 control ]]> text.

## Scale

### 0 - Bad "<x>" $score

Bad & <Choice value="5"/> worse.

### 1 - Fine

It is fine.

### 2 - Good </Choices><Choices name="score">

Good.

## Examples

### Example (score 2)

**Prompt:** p
**Response:** r
**Why:** w
"""


def _bundled() -> list[Rubric]:
    return list(load_rubrics(REPO / "rubrics").values())


def _hostile() -> Rubric:
    return parse_rubric(HOSTILE, Path("hostile.md"))


@pytest.mark.parametrize("rubric", [*_bundled(), _hostile()], ids=lambda r: r.name)
def test_labelling_config_has_one_choice_per_level(rubric: Rubric) -> None:
    root = ET.fromstring(labelling_config(rubric))
    controls = root.findall(".//Choices")
    assert len(controls) == 1 and controls[0].get("name") == "score"
    choices = controls[0].findall("Choice")
    assert [c.get("alias") for c in choices] == [str(s) for s in rubric.scores]
    for choice, level in zip(choices, rubric.levels, strict=True):
        assert (choice.get("value") or "").startswith(str(level.score))
        assert level.label.replace("$", "\uff04") in (choice.get("value") or "")
    # Only the config's own fields are task data; rubric text never names one.
    fields = {el.get("value") for el in root.iter() if (el.get("value") or "").startswith("$")}
    assert fields == {"$dialogue", "$response"}
    assert "$" not in "".join(el.get("value") or "" for el in root.iter("Choice"))


def test_hostile_rubric_text_stays_text() -> None:
    rubric = _hostile()
    root = ET.fromstring(labelling_config(rubric))
    header = root.find("Header")
    assert header is not None and "<b>" in (header.get("value") or "")  # shown, not markup
    assert len(root.findall(".//Choices")) == 1
    html = instructions(rubric)
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.e2e
@pytest.mark.labelstudio
def test_label_studio_accepts_the_configs(tmp_path: Path) -> None:
    """Label Studio's own validator (in its venv) accepts every config and refuses a bad one."""
    assert LS_PYTHON.exists(), "make labelstudio-venv first (make label-e2e does)"
    paths = []
    for rubric in [*_bundled(), _hostile()]:
        path = tmp_path / f"{rubric.name}.xml"
        path.write_text(labelling_config(rubric))
        paths.append(str(path))
    bad = tmp_path / "bad.xml"
    bad.write_text(
        labelling_config(_bundled()[0]).replace('toName="response" choice', 'toName="x" choice')
    )
    env = {
        **os.environ,
        "LABEL_STUDIO_BASE_DATA_DIR": str(tmp_path / "ls"),
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "COLLECT_ANALYTICS": "false",
    }
    script = REPO / "tests" / "labelstudio_validate.py"
    ok = subprocess.run(
        [str(LS_PYTHON), str(script), *paths], env=env, capture_output=True, text=True, timeout=300
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert ok.stdout.count("valid ") == len(paths)
    refused = subprocess.run(
        [str(LS_PYTHON), str(script), str(bad)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode != 0 and "toName" in refused.stdout + refused.stderr


# -- import and merge -------------------------------------------------------------------------


def _tone() -> Rubric:
    return load_rubrics(REPO / "rubrics", ["tone"])["tone"]


def _export(
    path: Path,
    rubric: Rubric,
    rows: list[tuple[int, list[tuple[Any, Any]]]],
    version: str | None = None,
    drawn: frozenset[int] = frozenset(),
) -> Path:
    """A Label Studio JSON export: per item, (annotator, score) annotations."""
    tasks = []
    for n, given in rows:
        how = "random" if n in drawn else "targeted"
        chosen_task = task(_chosen(n, how), rubric, "v1")
        if version is not None:
            chosen_task["data"]["rubric_hash"] = version
        chosen_task["annotations"] = [
            {
                "completed_by": {"id": who, "email": f"a{who}@example.com"}
                if isinstance(who, int)
                else who,
                "result": [
                    {
                        "from_name": "score",
                        "to_name": "response",
                        "type": "choices",
                        "value": {"choices": [str(score)]},
                    }
                ],
                "was_cancelled": score is None,
                "updated_at": f"2026-12-0{who if isinstance(who, int) else 1}T10:00:00Z",
            }
            for who, score in given
        ]
        tasks.append(chosen_task)
    path.write_text(json.dumps(tasks))
    return path


def _chosen(n: int, how: Any = "targeted") -> Any:
    from judge.annotate.select import Chosen

    return Chosen(Candidate(_item(n), Signals(raw=3.0, normalized=0.5, reasoning="ok")), how)


def test_import_merges_without_duplicates(tmp_path: Path) -> None:
    rubric, anchors = _tone(), tmp_path / "anchors.jsonl"
    export = _export(
        tmp_path / "e.json", rubric, [(1, [(1, 4), (2, 5)]), (2, [(1, 2), (2, None)]), (3, [])]
    )
    first = import_labels(export, rubric, anchors)
    assert (first.merged.added, first.merged.new_items, first.cancelled) == (3, 2, 1)
    assert first.judge_human["items"] == 2  # the prediction (level 3) vs the people
    assert first.judge_human_random == {"items": 0}
    again = import_labels(export, rubric, anchors)
    assert (again.merged.added, again.merged.unchanged, again.merged.new_items) == (0, 3, 0)
    loaded = load_anchors(anchors, "tone", (1, 5))
    assert [(a.ratings, a.raters, a.version) for a in loaded] == [
        ((4.0, 5.0), ("a1@example.com", "a2@example.com"), rubric.content_hash),
        ((2.0,), ("a1@example.com",), rubric.content_hash),
    ]
    line = json.loads(anchors.read_text().splitlines()[0])
    assert line["labelled_at"]["tone"] == ["2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z"]
    # An annotator who changed their mind updates their own label.
    changed = _export(tmp_path / "c.json", rubric, [(1, [(2, 3)])])
    assert import_labels(changed, rubric, anchors).merged.updated == 1
    assert load_anchors(anchors, "tone")[0].ratings == (4.0, 3.0)
    assert labelled_keys(read_entries(anchors), "tone", rubric.content_hash) == {
        _item(1).key,
        _item(2).key,
    }


def test_labels_under_another_rubric_version_are_refused_unless_kept(tmp_path: Path) -> None:
    rubric, anchors = _tone(), tmp_path / "anchors.jsonl"
    old = _export(
        tmp_path / "old.json", rubric, [(1, [(1, 4)]), (2, [(1, 2), (2, 3)])], version="f" * 64
    )
    refused = import_labels(old, rubric, anchors)
    assert (refused.refused, refused.refused_items, refused.labels) == (3, 2, 0)
    assert read_entries(anchors) == []
    kept = import_labels(old, rubric, anchors, keep_other_versions=True)
    assert kept.kept_other == 3
    assert {a.version for a in load_anchors(anchors, "tone")} == {"f" * 64}
    # Labels of this version for the same item do not land on the other version's line.
    new = _export(tmp_path / "new.json", rubric, [(1, [(1, 5)])])
    assert import_labels(new, rubric, anchors).merged.new_items == 1
    versions = sorted(a.version for a in load_anchors(anchors, "tone"))
    assert versions == sorted([rubric.content_hash, "f" * 64, "f" * 64])


def test_an_export_is_hostile_input(tmp_path: Path) -> None:
    rubric = _tone()
    off = _export(tmp_path / "off.json", rubric, [(1, [(1, 9)])])
    with pytest.raises(SourceError, match="off the scale"):
        read_export(off, rubric)
    junk = tmp_path / "junk.json"
    junk.write_text(
        json.dumps(
            [
                1,
                {"data": {"rubric": "tone", "item": 5}},
                {"data": "x"},
                {
                    "data": {
                        "rubric": "tone",
                        "item": "a",
                        "rubric_hash": "h",
                        "response": "r",
                        "dialogue": [{"role": 1}],
                    }
                },
            ]
        )
    )
    read = read_export(junk, rubric)
    assert read.labels == [] and read.skipped_tasks == 4
    (tmp_path / "nojson.json").write_text("{")
    with pytest.raises(SourceError, match="not JSON"):
        read_export(tmp_path / "nojson.json", rubric)


# -- the commands -----------------------------------------------------------------------------


def test_label_export_scores_a_dataset_and_status_reports(serve: Any, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from judge.cli import main
    from judge.server.scripted import ScriptedJudge
    from tests.conftest import project_copy

    config = project_copy(tmp_path / "project")
    serve(ScriptedJudge())
    data = tmp_path / "data.jsonl"
    responses = ["Thanks, happy to help!", "Figure it out yourself.", "It ships tomorrow."]
    samples = [
        {
            "id": i,
            "messages": [
                {"role": "user", "content": "Where is my order?"},
                {"role": "assistant", "content": f"{text} ({i})"},
            ],
        }
        for i, text in enumerate(responses * 8)
    ]
    data.write_text("".join(json.dumps(s) + "\n" for s in samples))
    out = tmp_path / "out"
    args = ["label", "export", "--rubric", "tone", "--data", str(data), "-n", "10"]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "10 item(s) for tone (2 random, 8 targeted" in result.output
    tasks = json.loads((out / "tasks.json").read_text())
    assert len(tasks) == 10 and all(t["predictions"][0]["result"] for t in tasks)
    assert all(t["data"]["rubric_hash"] == _tone().content_hash for t in tasks)
    plain_lines = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
    assert [p["id"] for p in plain_lines] == [t["data"]["item"] for t in tasks]
    assert all(p["judge"]["raw"] in {1, 2, 3, 4, 5} for p in plain_lines)
    ET.fromstring((out / "config.xml").read_text())
    # Labels for eight of them: status counts them; calibration is due (no map yet).
    export = _export(
        tmp_path / "e.json", _tone(), [(n, [(1, 1 + n % 5), (2, 1 + n % 5)]) for n in range(8)]
    )
    import_labels(export, _tone(), tmp_path / "anchors.jsonl")
    status = CliRunner().invoke(
        main,
        ["label", "status", "--anchors", str(tmp_path / "anchors.jsonl"), "--rubric", "tone",
         "--json", "--config", str(config)],
    )  # fmt: skip
    assert status.exit_code == 0, status.output
    row = json.loads(status.stdout)[0]
    assert (row["anchors"], row["other_version"], row["due"]) == (8, 0, "due: no calibration map")
    assert row["levels"] == {"1": 2, "2": 2, "3": 2, "4": 1, "5": 1}
    assert row["human_alpha"] == 1.0


def test_agreement_on_the_random_share_is_reported_apart(tmp_path: Path) -> None:
    rows: list[tuple[int, list[tuple[Any, Any]]]] = [
        (n, [(1, 3 if n < 2 else 5)]) for n in range(4)
    ]
    export = _export(tmp_path / "e.json", _tone(), rows, drawn=frozenset({0, 1}))
    done = import_labels(export, _tone(), tmp_path / "a.jsonl")
    assert done.judge_human["items"] == 4 and done.judge_human["mae"] == 1.0
    assert done.judge_human_random["items"] == 2 and done.judge_human_random["mae"] == 0.0
