"""The common output of ``planner simulate`` across serving kinds (keys in docs/replay.md).

A :class:`ReplayReport` holds one :class:`ClassResult` per (plan, class) and one
:class:`PoolResult` per (plan, device or pool); the plan is the planner's deployment or a
baseline's, replayed the same way, side by side. :meth:`ReplayReport.tables` gives the two
tables ``planner simulate`` prints (their columns are the stable JSON keys);
:meth:`ReplayReport.to_json` the same as one document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from cost_models.units import MS_PER_S
from formulations.replay.stats import ClassCounts
from formulations.types import Table

ALL = "all"  # the class label of the row summing every class of a plan


@dataclass(frozen=True)
class ClassResult:
    """What the users of one class (family, length bucket, priority class) felt."""

    plan: str  # the planner's deployment or a baseline's name
    klass: str
    requests: int  # arrived after the warm-up
    served: int  # completed (on time or late)
    late: int  # completed after the deadline
    dropped: int  # shed by the batching policy, never completed
    p50_latency_ms: float | None  # of served requests; None when none was served
    p95_latency_ms: float | None
    p99_latency_ms: float | None
    mean_latency_ms: float | None
    slo_attainment_pct: float | None  # on-time share of the requests (drops miss)
    goodput_qps: float  # on-time completions per simulated second

    @staticmethod
    def of(plan: str, klass: str, counts: ClassCounts, span_s: float) -> ClassResult:
        """The row of ``counts`` gathered over ``span_s`` simulated seconds in all."""
        hist = counts.histogram

        def ms(quantile: float) -> float | None:
            return round(MS_PER_S * hist.quantile_s(quantile), 3) if hist.total else None

        return ClassResult(
            plan,
            klass,
            counts.requests,
            counts.served,
            counts.late,
            counts.dropped,
            ms(0.5),
            ms(0.95),
            ms(0.99),
            round(MS_PER_S * counts.latency_sum_s / counts.served, 3) if counts.served else None,
            round(100 * counts.on_time / counts.requests, 3) if counts.requests else None,
            round(counts.on_time / span_s, 3) if span_s > 0 else 0.0,
        )


@dataclass(frozen=True)
class PoolResult:
    """How busy one device or pool was."""

    plan: str
    pool: str
    workers: float  # executors (GPUs, replicas), time-averaged
    utilisation_pct: float  # busy share of the executor-seconds
    loading_pct: float  # share spent loading models after plan changes
    utilisation_over_time_pct: list[float] = field(default_factory=list)  # per window


@dataclass
class ReplayReport:
    """Everything ``planner simulate`` reports for one scenario."""

    runs: int
    seed: int
    span_s: float  # simulated time per run (mean)
    window_s: float | None  # width of the utilisation-over-time windows
    classes: list[ClassResult] = field(default_factory=list)
    pools: list[PoolResult] = field(default_factory=list)

    def add_plan(
        self, plan: str, labels: Sequence[str], counts: Sequence[ClassCounts], span_s: float
    ) -> None:
        """Rows of one plan from ``counts`` summed over the report's runs of ``span_s`` each:
        one per class and one for all classes together."""
        total = ClassCounts()
        for label, one in zip(labels, counts, strict=True):
            self.classes.append(ClassResult.of(plan, label, one, span_s * self.runs))
            total.merge(one)
        self.classes.append(ClassResult.of(plan, ALL, total, span_s * self.runs))

    def tables(self) -> list[Table]:
        class_keys = [f.name for f in fields(ClassResult)]
        pool_columns = [f.name for f in fields(PoolResult) if f.name != "utilisation_over_time_pct"]
        return [
            Table(
                f"Replay per class ({self.runs} runs from seed {self.seed}, "
                f"{self.span_s:.6g} s simulated each)",
                [_key(k) for k in class_keys],
                [[getattr(c, k) for k in class_keys] for c in self.classes],
            ),
            Table(
                "Replay per device or pool",
                pool_columns,
                [[getattr(p, k) for k in pool_columns] for p in self.pools],
            ),
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "seed": self.seed,
            "span_s": self.span_s,
            "window_s": self.window_s,
            "classes": [{_key(k): v for k, v in asdict(c).items()} for c in self.classes],
            "pools": [asdict(p) for p in self.pools],
        }


def _key(name: str) -> str:
    """The JSON key of a field (``klass`` is ``class``, a Python keyword)."""
    return "class" if name == "klass" else name
