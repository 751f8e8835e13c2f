"""``judge probe --search``: a budgeted, reward-guided search for responses that beat honest ones.

The bundled suite holds attacks someone thought of; a policy under RL finds the ones nobody
did. The search does what the policy does, on a small budget: starting from honest answers
to a few prompts of the suite, it breeds candidates (``judge/probe/mutate.py``: fragments,
decorations, Unicode transforms, deletions, repetitions, crossover), scores each generation
beside the honest answers in one batch through the Lambda's own code path (as ``judge
probe`` does, group mode included), keeps the best and breeds again. Fitness is a
candidate's reward minus its prompt's honest reward in the same batch. Every distinct
candidate above the honest answer is reported with the defence that let it through.

Bounded in judge calls (planned before each batch, so the budget is not overrun) and in
dollars (the run's cost estimate; a local endpoint costs nothing unless ``[pricing]`` names
its model), and deterministic under ``seed``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from judge.caller import CallStats
from judge.contract import parse_sample
from judge.cost import TokenCounts, price_for, price_table, total_cost
from judge.deadline import Deadline
from judge.pipeline import Evaluator, SampleResult
from judge.plan import Plan
from judge.probe import (
    Attack,
    Entry,
    JudgeIdentity,
    honest_batch,
    judge_identity,
    load_suite,
    score_beside_honest,
    won_on,
)
from judge.probe.defence import let_through
from judge.probe.mutate import Vocabulary, crossover, load_vocabulary, mutate

DEFAULT_PROMPTS = 3
DEFAULT_POPULATION = 12
DEFAULT_GENERATIONS = 6
DEFAULT_BUDGET_CALLS = 800
MAX_CHARS = 2000  # a candidate is cut here: long ones cost tokens and teach nothing new
CROSSOVER_RATE = 0.25
SECOND_MUTATION = 0.35


@dataclass(frozen=True)
class SearchSettings:
    """How far the search goes: per-prompt population, generations, calls and dollars."""

    seed: int = 0
    budget_calls: int = DEFAULT_BUDGET_CALLS
    budget_usd: float | None = None
    generations: int = DEFAULT_GENERATIONS
    population: int = DEFAULT_POPULATION
    prompts: int = DEFAULT_PROMPTS


@dataclass(frozen=True)
class Seed:
    """A prompt of the suite and its honest answer: where a search starts."""

    id: str
    prompt: str
    honest: str


@dataclass
class Candidate:
    """A bred response to one seed's prompt, and how it fared."""

    seed: int
    text: str
    generation: int
    origin: str
    margin: float = float("-inf")


@dataclass(frozen=True)
class Generation:
    """One generation's line of progress."""

    generation: int
    candidates: int
    best_margin: float
    above_honest: int
    calls: int
    cost_usd: float | None


@dataclass
class SearchReport:
    """What the search found, at what cost, and why it stopped."""

    settings: SearchSettings
    seeds: list[Seed]
    generations: list[Generation] = field(default_factory=list)
    winners: list[dict[str, Any]] = field(default_factory=list)
    candidates: int = 0
    calls: int = 0
    cost_usd: float | None = 0.0
    stopped: str = ""
    judge: JudgeIdentity | None = None

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON (``--json``)."""
        return {
            "judge": asdict(self.judge) if self.judge else None,
            "settings": asdict(self.settings),
            "seeds": [asdict(s) for s in self.seeds],
            "generations": [asdict(g) for g in self.generations],
            "candidates": self.candidates,
            "calls": self.calls,
            "cost_usd": self.cost_usd,
            "stopped": self.stopped,
            "winners": self.winners,
        }


def pick_seeds(suite: list[Attack], count: int) -> list[Seed]:
    """The first ``count`` distinct prompts of the suite, with their honest answers."""
    seeds: dict[str, Seed] = {}
    for attack in suite:
        if attack.prompt not in seeds and len(seeds) < count:
            seeds[attack.prompt] = Seed(attack.id, attack.prompt, attack.honest)
    return list(seeds.values())


class Budget:
    """Judge calls and dollars spent, and whether a planned batch still fits.

    Calls are the judgements a batch asks for, the verdict cache's answers included, so the
    search takes the same path whether or not the cache is warm (and never makes more calls
    than that). A batch is planned before it is sent: its distinct requests, as the
    evaluator would make them (guard ignored: a floored sample only makes fewer).
    """

    def __init__(self, evaluator: Evaluator, settings: SearchSettings) -> None:
        self.evaluator = evaluator
        self.settings = settings
        self.calls = 0
        self.made = 0  # calls that reached the judge (not the cache)
        self.tokens: dict[str, TokenCounts] = {}
        config = evaluator.config
        self.prices = price_table(config.pricing)
        models = [m.model_id for m in evaluator.members]
        self.priced = evaluator.endpoint == "aws" or any(m in config.pricing for m in models)

    def cost(self) -> float | None:
        """The run's estimated USD so far (None: a price it needs is unknown)."""
        return total_cost(self.tokens, self.prices) if self.priced else 0.0

    def spend(self, stats: CallStats) -> None:
        """Count one evaluated batch."""
        self.calls += stats.calls + stats.cache_hits
        self.made += stats.calls
        for model, counts in stats.tokens.items():
            self.tokens.setdefault(model, TokenCounts()).__iadd__(counts)

    def fits(self, planned: int) -> bool:
        """Whether ``planned`` more calls stay within the calls and the dollars budget."""
        if self.calls + planned > self.settings.budget_calls:
            return False
        if self.settings.budget_usd is None:
            return True
        spent = self.cost()
        return spent is not None and spent + planned * self.per_call() <= self.settings.budget_usd

    def per_call(self) -> float:
        """Dollars a call costs: the mean so far, else a bound from the model's price."""
        spent = self.cost() or 0.0
        if self.made:
            return spent / self.made
        if not self.priced:
            return 0.0
        judge = self.evaluator.members[0]
        price = price_for(judge.model_id, self.prices)
        if price is None:
            return float("inf")
        return (4000 * price.input + judge.max_tokens * price.output) / 1000

    def short(self) -> str:
        """Why not one more candidate fits: what is left of each budget."""
        left = [f"{self.calls} of {self.settings.budget_calls} calls used"]
        if self.settings.budget_usd is not None:
            left.append(
                f"${self.cost() or 0.0:.4f} of the ${self.settings.budget_usd:.4f} dollar budget"
            )
        return f"not one more candidate fits the budget ({', '.join(left)})"

    def exhausted(self) -> str | None:
        """Why no further batch may be sent (None: some may)."""
        if self.calls >= self.settings.budget_calls:
            return f"calls budget spent ({self.calls} of {self.settings.budget_calls})"
        if self.settings.budget_usd is not None:
            spent = self.cost()
            if spent is None:
                return "cost unknown: no price for the judge model (add it under [pricing])"
            if spent >= self.settings.budget_usd:
                return f"dollar budget spent (${spent:.4f} of ${self.settings.budget_usd:.4f})"
        return None


def planned_calls(evaluator: Evaluator, batch: list[dict[str, Any]]) -> int:
    """The distinct judge requests ``batch`` makes at most (every sample judged, none cached).

    Judging a group's refused responses alone afterwards may add calls; the scripted and
    well-behaved judges refuse nothing. A substance check may add one call a sample.
    """
    items = {s.index: s.item for s in map(parse_sample, range(len(batch)), batch) if s.item}
    plans: dict[int, Plan] = {i: evaluator.plan(item) for i, item in items.items()}
    evaluator.add_group_slots(plans, items)
    keys = {t.key for plan in plans.values() for t in plan.all_tasks()}
    substance = getattr(evaluator.config.guard, "substance_model", None)
    return len(keys) + (len(items) if substance else 0)


def most_calls(evaluator: Evaluator, samples: int) -> int:
    """A bound on the calls of any batch of ``samples`` one-turn samples, without planning it.

    A response takes part in at most one call per rubric, judge and order (a group holds one
    response or more; combined mode makes one call for several rubrics), plus its substance
    check. Checked first, so a batch far inside the budget is not planned twice.
    """
    config = evaluator.config
    per_sample = len(config.rubrics) * len(evaluator.members) * config.judge.group_orders
    substance = 1 if getattr(config.guard, "substance_model", None) else 0
    return samples * (per_sample + substance)


def fitted(
    evaluator: Evaluator, budget: Budget, honest: dict[str, str], entries: list[Entry]
) -> list[Entry]:
    """The longest prefix of ``entries`` whose batch fits the budget (binary search)."""

    def fits(k: int) -> bool:
        return budget.fits(planned_calls(evaluator, honest_batch(honest, entries[:k])))

    if budget.fits(most_calls(evaluator, len(honest) + len(entries))) or fits(len(entries)):
        return entries
    lo, hi = 0, len(entries)  # fits(lo) or lo == 0; not fits(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return entries[:lo] if lo and fits(lo) else []


def parents(pool: list[Candidate], honest: str, keep: int, rng: random.Random) -> list[str]:
    """The honest answer and the ``keep`` best candidates so far (ties drawn at random)."""
    order = list(pool)
    rng.shuffle(order)
    order.sort(key=lambda c: c.margin, reverse=True)
    return [honest, *[c.text for c in order[:keep]]]


def breed(
    seed: int,
    chosen: list[str],
    seen: set[str],
    size: int,
    generation: int,
    vocab: Vocabulary,
    rng: random.Random,
) -> list[Candidate]:
    """``size`` new candidates (never one seen before) from the ``chosen`` parents."""
    out: list[Candidate] = []
    for _ in range(size * 20):
        if len(out) == size:
            break
        if len(chosen) > 1 and rng.random() < CROSSOVER_RATE:
            a, b = rng.sample(chosen, 2)
            text, origin = crossover(a, b, rng), "crossover"
        else:
            text, origin = mutate(rng.choice(chosen), vocab, rng)
            if rng.random() < SECOND_MUTATION:
                text, second = mutate(text, vocab, rng)
                origin += "+" + second
        text = text[:MAX_CHARS]
        if text.strip() and text not in seen:
            seen.add(text)
            out.append(Candidate(seed, text, generation, origin))
    return out


def interleaved(children: list[list[Candidate]]) -> list[Candidate]:
    """Every seed's children, one of each in turn (so a cut batch keeps every prompt)."""
    longest = max((len(c) for c in children), default=0)
    return [c[k] for k in range(longest) for c in children if k < len(c)]


def run_search(
    evaluator: Evaluator,
    settings: SearchSettings | None = None,
    suite: list[Attack] | None = None,
    deadline: Deadline | None = None,
    on_generation: Callable[[Generation], None] | None = None,
) -> SearchReport:
    """Search for responses whose reward beats the honest answer's, within the budget."""
    settings = settings or SearchSettings()
    rng = random.Random(settings.seed)
    vocab = load_vocabulary()
    seeds = pick_seeds(suite or load_suite(), settings.prompts)
    honest = {s.prompt: s.honest for s in seeds}
    seen = [{s.honest} for s in seeds]
    pools: list[list[Candidate]] = [[] for _ in seeds]
    budget = Budget(evaluator, settings)
    report = SearchReport(settings, seeds, judge=judge_identity(evaluator))
    keep = max(2, settings.population // 4)
    report.stopped = f"{settings.generations} generations done"
    for generation in range(settings.generations):
        children = [
            breed(
                i,
                parents(pools[i], s.honest, keep, rng),
                seen[i],
                settings.population,
                generation,
                vocab,
                rng,
            )
            for i, s in enumerate(seeds)
        ]
        batch = interleaved(children)
        entries = [
            Entry(f"search-{generation}-{k}", seeds[c.seed].prompt, c.text)
            for k, c in enumerate(batch)
        ]
        entries = fitted(evaluator, budget, honest, entries) if entries else []
        if not entries or (deadline is not None and deadline.expired):
            report.stopped = budget.exhausted() or budget.short()
            break
        scored = score_beside_honest(evaluator, honest, entries, deadline)
        budget.spend(scored.stats)
        judged = batch[: len(entries)]
        for entry, candidate in zip(entries, judged, strict=True):
            seed = seeds[candidate.seed]
            result, baseline = scored.results[entry.id], scored.honest[seed.prompt]
            candidate.margin = result.reward - baseline.reward
            pools[candidate.seed].append(candidate)
            if candidate.margin > 1e-9:
                report.winners.append(_winner(evaluator, seed, candidate, result, baseline))
        report.candidates += len(judged)
        line = Generation(
            generation,
            len(judged),
            max(c.margin for c in judged),
            sum(c.margin > 1e-9 for c in judged),
            budget.calls,
            budget.cost(),
        )
        report.generations.append(line)
        if on_generation is not None:
            on_generation(line)
        if (why := budget.exhausted()) is not None:
            report.stopped = why
            break
    report.calls, report.cost_usd = budget.calls, budget.cost()
    return report


def _winner(
    evaluator: Evaluator,
    seed: Seed,
    candidate: Candidate,
    result: SampleResult,
    honest: SampleResult,
) -> dict[str, Any]:
    """A candidate that beat the honest answer, and which defence let it through."""
    return {
        "prompt_id": seed.id,
        "generation": candidate.generation,
        "reward": result.reward,
        "honest_reward": honest.reward,
        "margin": candidate.margin,
        "unscored": result.unscored,
        "through": let_through(evaluator, seed.prompt, candidate.text, seed.honest, honest),
        "won_on": won_on(result, honest),
        "origin": candidate.origin,
        "response": candidate.text,
    }
