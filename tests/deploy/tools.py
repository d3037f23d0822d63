"""Finding the command-line tools the deployment tests run, or failing with how to get them."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from devstack.stack import ROOT

__all__ = ["DEPLOY", "ROOT", "tool"]

DEPLOY = ROOT / "deploy"


def tool(name: str, how: str) -> str:
    """The path of `name`, from this virtualenv first, then PATH. A missing tool fails the
    test, naming what installs it: skipping would let CI pass without the check."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: {how}")
    return found
