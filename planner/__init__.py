"""planner: capacity planning of ML systems with mixed-integer linear programming.

import planner
plan = planner.solve("scenarios/proteus/edge_cluster.toml")
print(plan.objective, plan.gap)
plan.to_frame()
"""

from formulations.types import (
    ExitCode,
    InfeasibleError,
    InputError,
    LimitError,
    PlannerError,
    SolverError,
    SolverSettings,
    SolveStatus,
    Termination,
    VerificationError,
)
from planner.engine import CheckReport, check, simulate, solve
from planner.estimate import Estimate, estimate
from planner.html_report import report
from planner.pareto import Front, pareto
from planner.plan import SCHEMA_VERSION, Plan
from planner.scenario import Scenario, load_scenario, scenario_from_dict
from planner.sweeps import sweep

__all__ = [
    "SCHEMA_VERSION",
    "CheckReport",
    "Estimate",
    "ExitCode",
    "Front",
    "InfeasibleError",
    "InputError",
    "LimitError",
    "Plan",
    "PlannerError",
    "Scenario",
    "SolveStatus",
    "SolverError",
    "SolverSettings",
    "Termination",
    "VerificationError",
    "check",
    "estimate",
    "load_scenario",
    "pareto",
    "report",
    "scenario_from_dict",
    "simulate",
    "solve",
    "sweep",
]
