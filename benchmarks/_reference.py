"""What every benchmark reading ``../shared/reference`` shares: where that folder is and the
one exit code of a benchmark run without it.

``../shared/reference`` (relative to the project root) holds data published by others
(papers' artifacts, traces, profiles); it is read in place and never committed here (its
README says where each folder comes from and under which licence).
"""

from __future__ import annotations

import sys
from pathlib import Path

REFERENCE_ABSENT = 3  # exit code of every benchmark whose reference data is absent


def absent(path: Path, what: str) -> bool:
    """True, after one line on stderr naming ``path`` and ``what`` it should hold, when
    ``path`` does not exist; the benchmark then returns :data:`REFERENCE_ABSENT`."""
    if path.exists():
        return False
    print(f"skipped: missing {path}: {what}", file=sys.stderr)
    return True
