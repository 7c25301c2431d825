"""How the question planner reads labelled questions: a CSV of ``question,kind`` in, accuracy per label out.

``kind`` is one of the planner's kinds (:data:`~longvid.llm.planner.KINDS`), or several joined by ``|`` when
more than one reading is right (``lookup|at_time``: "why does the baby cry at the end" may read the end, or
look the crying up). Each question is planned as one about a video of ``duration_s`` seconds, so that "the
second half" and "at the end" resolve. Nothing is indexed and nothing is answered: this measures the
grammar and the classifier alone, on questions somebody else wrote::

    >>> items = [PlanItem("How many times is the budget mentioned?", ("count",)),
    ...          PlanItem("Where did I leave my keys?", ("lookup",)),
    ...          PlanItem("What is said in the first half?", ("lookup",))]
    >>> report = evaluate_plans(Planner(), items)
    >>> report.accuracy, report.by_label()["lookup"]
    (0.6666666666666666, (1, 2))
    >>> [(item.question, plan.kind) for item, plan in report.misses()]
    [('What is said in the first half?', 'at_time')]
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from longvid.ingest.errors import LongvidError
from longvid.llm.planner import KINDS, Plan, Planner


@dataclass(frozen=True)
class PlanItem:
    question: str
    kinds: tuple[str, ...]  # the right readings: any of them counts

    @property
    def label(self) -> str:
        return "|".join(self.kinds)


@dataclass(frozen=True)
class PlanReport:
    results: tuple[tuple[PlanItem, Plan], ...]

    @property
    def right(self) -> int:
        """Questions planned as one of their right kinds."""
        return sum(plan.kind in item.kinds for item, plan in self.results)

    @property
    def accuracy(self) -> float:
        return self.right / max(1, len(self.results))

    def by_label(self) -> dict[str, tuple[int, int]]:
        """``{label: (right, questions)}``, labels in order of first appearance."""
        counts: dict[str, tuple[int, int]] = {}
        for item, plan in self.results:
            right, total = counts.get(item.label, (0, 0))
            counts[item.label] = (right + (plan.kind in item.kinds), total + 1)
        return counts

    def planned_as(self, label: str) -> Counter[str]:
        """How the questions labelled ``label`` were planned: ``{kind: questions}``."""
        return Counter(plan.kind for item, plan in self.results if item.label == label)

    def misses(self) -> list[tuple[PlanItem, Plan]]:
        return [(item, plan) for item, plan in self.results if plan.kind not in item.kinds]


def load_plan_items(path: str | Path) -> list[PlanItem]:
    """The labelled questions of a CSV file with ``question`` and ``kind`` columns (a header row first)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise LongvidError(f"{path}: cannot read it as CSV ({err})") from None
    if not rows or not {"question", "kind"} <= set(rows[0]):
        raise LongvidError(f"{path}: needs a header row with 'question' and 'kind' columns")
    items = []
    for line, row in enumerate(rows, start=2):
        kinds = tuple(k.strip() for k in (row["kind"] or "").split("|") if k.strip())
        unknown = [k for k in kinds if k not in KINDS]
        if not kinds or unknown or not (row["question"] or "").strip():
            raise LongvidError(f"{path}:{line}: needs a question and kinds from {', '.join(KINDS)}")
        items.append(PlanItem(row["question"].strip(), kinds))
    return items


def evaluate_plans(planner: Planner, items: list[PlanItem], duration_s: float = 3600.0) -> PlanReport:
    """Plan every question of ``items`` as one about a video of ``duration_s`` seconds."""
    return PlanReport(tuple((item, planner.plan(item.question, duration_s)) for item in items))
