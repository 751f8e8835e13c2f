"""What can be labelled: items from a dataset of RFT samples, keyed by their content.

An item is known by the text it shows (the conversation and the response), not only by its
id: a dataset's ids are anyone's, and the same response exported twice under two ids is
still one item to label. Every string here is sample text, so nothing is interpreted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from judge.contract import parse_sample
from judge.prompt import JudgeInput, Turn


@dataclass(frozen=True)
class Item:
    """One labellable sample: its id as text, and what the judge (and a person) reads."""

    id: str
    item: JudgeInput
    sample_id: Any = None  # the dataset's own id, exactly (joins ``--details`` lines)

    @property
    def key(self) -> str:
        """The content key: the same conversation and response give the same key."""
        return content_key(self.item.conversation, self.item.response)


def content_key(conversation: tuple[Turn, ...], response: str) -> str:
    """sha256 of the turns and the response, as JSON (no separator can be forged)."""
    material = json.dumps([[[t.role, t.text] for t in conversation], response])
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def id_text(sample_id: Any) -> str:
    """An id as an anchor stores it: a string as it is, anything else as its JSON."""
    return sample_id if isinstance(sample_id, str) else json.dumps(sample_id, sort_keys=True)


def items_of(samples: list[Any]) -> tuple[list[Item], int]:
    """The samples that can be labelled, and how many could not (malformed, no text)."""
    out: list[Item] = []
    skipped = 0
    for index, raw in enumerate(samples):
        sample = parse_sample(index, raw)
        if sample.item is None or sample.unsupported or not sample.item.response.strip():
            skipped += 1
            continue
        out.append(Item(id_text(sample.id), sample.item, sample.id))
    return out, skipped


def prompt_value(conversation: tuple[Turn, ...]) -> str | list[dict[str, str]]:
    """The anchors' ``prompt``: a string for one user turn, else the list of messages."""
    if len(conversation) == 1 and conversation[0].role == "user":
        return conversation[0].text
    return [{"role": t.role, "content": t.text} for t in conversation]
