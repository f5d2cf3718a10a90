"""Errors raised by cost models when their data is malformed."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Malformed data file or value: names the file, the key (or line) and what was expected."""

    def __init__(self, file: str | Path | None, key: str, expected: str) -> None:
        self.file = str(file) if file is not None else None
        self.key = key
        self.expected = expected
        where = f"{self.file}: " if self.file else ""
        super().__init__(f"{where}{key}: expected {expected}")
