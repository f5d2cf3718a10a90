"""Our LLM GPU-mix plans next to Melange's, for slice factors 1, 4 and 8.

One row per (scenario, planner, slice factor): cost_usd_per_h, GPUs per type,
ttft_attainment and tpot_attainment (share of replayed requests within each SLO, colocated
pools, request-weighted; empty for profiled rates, which have no latency model).
"Melange" is Melange's own model (tyler-griggs/melange-release melange/solver.py
``MelangeSolver.run``) on the same per-bucket rates; "melange (published)" is the output
its README prints for example.json. ``--speed`` times the 4 GPU types x 10 x 10 buckets x
slice factor 8 instance.

    python benchmarks/llm_mix.py --csv out.csv [--speed]

Without ``../shared/reference/melange`` (Melange's example.json and README output,
transcribed from tyler-griggs/melange-release; see that folder's README) it prints one line
saying so and exits with code 3, the benchmarks' code for "reference data absent".
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import planner
from benchmarks._reference import REFERENCE_ABSENT, absent, reference_root
from formulations.llm.deployment import LlmDeployment
from formulations.llm.simulate import simulate
from formulations.llm.view import LlmView
from planner.engine import prepared_view

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = reference_root()
SCENARIOS = ["melange_example", "chat_llama2_7b", "long_document_llama2_13b"]
SLICE_FACTORS = (1, 4, 8)
# melange-release README.md 'Solver Output' for melange/config/example.json (commit d46ab43)
MELANGE_README_OUTPUT = {"A10G": 3, "A100-80GB": 1, "cost_usd_per_h": 6.7}


def gpus_of(view: LlmView, deployment: LlmDeployment) -> dict[str, int]:
    counts: dict[str, int] = {}
    for plan in deployment.pools:
        pool = view.pool(plan.pool)
        assert pool is not None
        counts[pool.gpu] = counts.get(pool.gpu, 0) + plan.replicas * pool.tp
    return counts


def attainment(view: LlmView, deployment: LlmDeployment) -> tuple[float | None, float | None]:
    if view.buckets is None or deployment.batching.value != "continuous":
        return None, None
    rows = [r for r in simulate(view, deployment, 2, 0) if r[5] is not None]
    if not rows:  # only disaggregated pools, which the replay does not cover
        return None, None
    weights = np.array([float(r[1]) * float(r[2]) for r in rows])  # type: ignore[arg-type]
    ttft = np.array([float(r[5]) for r in rows])  # type: ignore[arg-type]
    tpot = np.array([float(r[6]) for r in rows])  # type: ignore[arg-type]
    return float(weights @ ttft / weights.sum()), float(weights @ tpot / weights.sum())


def rows() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for name in SCENARIOS:
        path = ROOT / "scenarios" / "llm" / f"{name}.toml"
        for s in SLICE_FACTORS:
            sc = planner.load_scenario(path, overrides={"slice_factor": s})
            plan = planner.solve(sc)
            view = prepared_view(sc)
            runs: list[tuple[str, LlmDeployment, float | None]] = [
                ("planner", cast(LlmDeployment, plan.deployment), plan.objective.value)
            ]
            runs += [
                (b.name, cast(LlmDeployment, b.deployment), b.objective)
                for b in plan.baselines
                if b.deployment
            ]
            for who, deployment, cost in runs:
                ttft, tpot = attainment(view, deployment)
                out.append(
                    {
                        "scenario": name,
                        "planner": who,
                        "slice_factor": s,
                        "cost_usd_per_h": cost,
                        **{f"gpus_{g}": n for g, n in gpus_of(view, deployment).items()},
                        "ttft_attainment": ttft,
                        "tpot_attainment": tpot,
                    }
                )
            if name == "melange_example" and s == 1:
                out.append(
                    {
                        "scenario": name,
                        "planner": "melange (published)",
                        "slice_factor": 1,
                        "cost_usd_per_h": MELANGE_README_OUTPUT["cost_usd_per_h"],
                        "gpus_A10G": MELANGE_README_OUTPUT["A10G"],
                        "gpus_A100-80GB": MELANGE_README_OUTPUT["A100-80GB"],
                    }
                )
    return out


def speed() -> tuple[float, str]:
    """4 GPU types x 10 x 10 buckets x slice factor 8, solved to proven optimality."""
    rng = np.random.default_rng(0)
    shares = rng.dirichlet(np.ones(100)).reshape(10, 10).round(8)
    shares[-1, -1] += 1 - shares.sum()
    edges = [1, 50, 100, 200, 300, 500, 700, 1000, 1400, 1800, 2000]
    out_edges = [1, 25, 50, 100, 150, 200, 300, 400, 600, 800, 1000]
    doc = {
        "kind": "llm",
        "slice_factor": 8,
        "model": {"name": "llama-2-7b"},
        "slo": {"ttft_ms": 2000, "tpot_ms": 120},
        "workload": {
            "total_rate_qps": 60,
            "input_edges_tokens": edges,
            "output_edges_tokens": out_edges,
            "shares": shares.tolist(),
        },
        "gpus": [{"name": g} for g in ("L4", "A10G", "A100-80GB", "H100")],
    }
    sc = planner.scenario_from_dict(doc, base_dir=ROOT, file="speed.toml")
    start = time.perf_counter()
    plan = planner.solve(sc, baselines=False)
    return time.perf_counter() - start, f"{plan.status.value}, gap {plan.gap:.2e}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--speed", action="store_true")
    args = parser.parse_args()
    if absent(
        REFERENCE / "melange",
        "Melange's example.json, transcribed from tyler-griggs/melange-release",
    ):
        return REFERENCE_ABSENT
    frame = pd.DataFrame(rows())
    print(frame.to_string(index=False))
    if args.csv:
        frame.to_csv(args.csv, index=False)
    if args.speed:
        seconds, status = speed()
        print(f"speed: 4 GPU types x 10 x 10 buckets x slice factor 8: {seconds:.2f} s ({status})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
