"""`make run` prints no warning a user could not act on."""

from __future__ import annotations

import os
import subprocess
import sys

from devstack.stack import ROOT


def test_the_embedded_postgres_imports_without_a_runtime_dir_warning() -> None:
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    result = subprocess.run(
        [
            sys.executable,
            "-W",
            "always",
            "-c",
            "from devstack.embedded import pgserver_get_server; pgserver_get_server()",
        ],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "RuntimeDirWarning" not in result.stderr
