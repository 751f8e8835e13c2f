"""The verdict parser: one row per odd judge output (Prometheus-eval style table)."""

from __future__ import annotations

from typing import Any

import pytest

from judge.verdict import Unscored, Verdict, parse_converse_response, parse_text_verdict

SCALE = [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Score: 4", 4),
        ("score: 4", 4),
        ("SCORE:4", 4),
        ("Score: **4**", 4),
        ("**Score:** 4", 4),
        ("Final score: 5/5", 5),
        ("Rating: 3 out of 5", 3),
        ("The overall score is 2.", 2),
        ("Verdict: [4]", 4),
        ("[[3]]", 3),
        ('{"reasoning": "ok", "score": 4}', 4),
        ('```json\n{"score": "5", "reasoning": "x"}\n```', 5),
        ("Score: 4.0", 4),
        # Reasoning mentions other numbers first: the last verdict wins.
        ("A score of 2 would be too harsh since it is polite.\nScore: 4", 4),
        ("It has 3 steps and 2 typos. Final score: 3", 3),
        ("The response claims 'Score: 5' for itself, which I ignore.\nScore: 2", 2),
        ("Score: 1\nOn reflection, revised score: 3", 3),
        ("rating - 5", 5),
        # A verdict line beats a later mention inside a sentence.
        ("Score: 4. A score of 5 would need more warmth.", 4),
        ("Final verdict:\nScore: 3\n\nNote: a score of 5 needs an apology too.", 3),
        ("I'd say the rating is 2 out of 5", 2),
        ("Reasoning...\n\n**Score**: [4]", 4),
        # Out of range or not a level: unscored, never clamped.
        ("Score: 7", "out_of_range"),
        ("Score: 0", "out_of_range"),
        ("Score: 3.5", "out_of_range"),
        ("Score: -1", "out_of_range"),
        ("Score: 8/10", "out_of_range"),
        ('{"score": 11}', "out_of_range"),
        # No verdict at all: unscored, never the first number in the prose.
        ("This response is very good, 10 points to it.", "unparseable"),
        ("I give it 4.", "unparseable"),
        ("", "unparseable"),
        ("Score:", "unparseable"),
        ("The response scores highly.", "unparseable"),
    ],
)
def test_text_verdicts(text: str, expected: int | str) -> None:
    outcome = parse_text_verdict(text, SCALE)
    if isinstance(expected, int):
        assert isinstance(outcome, Verdict), outcome
        assert outcome.score == expected
    else:
        assert isinstance(outcome, Unscored)
        assert outcome.reason == expected


def _tool(tool_input: Any, name: str = "submit_verdict", stop: str = "tool_use") -> dict[str, Any]:
    return {
        "output": {
            "message": {
                "content": [{"toolUse": {"toolUseId": "t1", "name": name, "input": tool_input}}]
            }
        },
        "stopReason": stop,
    }


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (_tool({"reasoning": "Warm.", "score": 5}), 5),
        (_tool({"score": 2, "reasoning": "Curt."}), 2),
        (_tool({"reasoning": "x", "score": "3"}), 3),
        (_tool('{"reasoning": "x", "score": 4}'), 4),
        (_tool({"reasoning": "x", "score": 4, "confidence": "high"}), 4),
        (_tool({"reasoning": "x", "score": 9}), "out_of_range"),
        (_tool({"reasoning": "x", "score": "excellent"}), "out_of_range"),
        (_tool({"reasoning": "x", "score": 2.5}), "out_of_range"),
        (_tool({"reasoning": "x"}), "unparseable"),
        (_tool("not json"), "unparseable"),
        (_tool({"reasoning": "x", "score": 4}, stop="guardrail_intervened"), "refused"),
        (
            {
                "output": {"message": {"content": [{"text": "Good.\nScore: 4"}]}},
                "stopReason": "end_turn",
            },
            4,
        ),
        (
            {
                "output": {
                    "message": {
                        "content": [
                            {"reasoningContent": {"reasoningText": {"text": "Score: 1?"}}},
                            {"text": "Score: 5"},
                        ]
                    }
                },
                "stopReason": "end_turn",
            },
            5,
        ),
        ({"output": {"message": {"content": []}}, "stopReason": "max_tokens"}, "unparseable"),
        ({"stopReason": "content_filtered"}, "refused"),
        ({}, "unparseable"),
    ],
)
def test_converse_responses(response: dict[str, Any], expected: int | str) -> None:
    outcome = parse_converse_response(response, SCALE)
    if isinstance(expected, int):
        assert isinstance(outcome, Verdict), outcome
        assert outcome.score == expected
    else:
        assert isinstance(outcome, Unscored), outcome
        assert outcome.reason == expected
        assert outcome.detail
