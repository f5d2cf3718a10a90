"""benchmarks/llm_mix.py without its reference data (issue 19 item 6)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def test_llm_mix_without_melange_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("llm_mix", ROOT / "benchmarks" / "llm_mix.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "REFERENCE", tmp_path / "reference")
    monkeypatch.setattr(sys, "argv", ["llm_mix.py"])
    assert module.main() == 3
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "melange" in lines[0] and "absent" in lines[0]
