"""What every benchmark reading reference data shares: where that folder is, the one line
a benchmark prints without it, and the one exit code it then returns.

The reference folder holds data published by others (papers' artifacts, traces, profiles;
its README says where each folder comes from and under which licence). It is read in
place and never committed here. It is ``$PLANNER_REFERENCE`` when that variable is set,
else ``../shared/reference`` relative to the project root (a sibling folder of the
checkout). Shipped scenarios that read it name ``../shared/reference`` relative to
themselves, so they need the data (or a symlink) there.

A benchmark without its data prints ONE line on stderr (what is missing, where it comes
from, how to point at another folder), writes nothing, and exits with
:data:`REFERENCE_ABSENT` (3), the same code for every benchmark (README.md, "Benchmarks").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REFERENCE_ABSENT = 3  # exit code of every benchmark whose reference data is absent
ENV = "PLANNER_REFERENCE"  # another location of the reference folder
DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
README = "../shared/reference/README.md"


def reference_root() -> Path:
    """The reference folder: ``$PLANNER_REFERENCE`` when set and not empty, else
    ``../shared/reference`` next to the project root."""
    chosen = os.environ.get(ENV, "")
    return Path(chosen).expanduser() if chosen else DEFAULT


def absent(path: Path, what: str) -> bool:
    """True, after one line on stderr naming ``path``, ``what`` it should hold and where it
    comes from, when ``path`` does not exist; the benchmark then returns
    :data:`REFERENCE_ABSENT` and writes nothing."""
    if path.exists():
        return False
    program = Path(sys.argv[0]).stem or "benchmark"
    print(
        f"{program}: reference data absent: {path}: {what} (see {README}; another folder "
        f"with {ENV}=DIR)",
        file=sys.stderr,
    )
    return True
