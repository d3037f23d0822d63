"""docker-compose.yml: valid Compose, scalable as it stands, and complete for every service.

The file is read as `docker compose` reads it: parsed, its strings' `${...}` filled in from
.env.example (so every variable without a default must be there), and checked against the Compose
Specification's schema (vendored, see compose-spec.NOTICE). Each service's settings are
walked with an Env that records every variable they ask for, so that a setting added to a
service but forgotten in compose fails here rather than in a deployment.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from dotenv import dotenv_values

from auth_service.settings import AuthSettings
from chat_service.settings import ChatSettings
from devstack.migrate import SCHEMAS
from gateway.settings import GatewaySettings
from posts_service.settings import PostsSettings
from shared.settings import Env
from social_service.settings import SocialSettings
from tests.deploy.tools import DEPLOY, ROOT

COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
ROLES_SCRIPT = DEPLOY / "postgres" / "init" / "10-service-roles.sh"

# compose service -> how it reads its settings
APPS: dict[str, Callable[[Env], Any]] = {
    "gateway": GatewaySettings.from_env,
    "auth_service": AuthSettings.from_env,
    "posts_service": PostsSettings.from_env,
    "social_service": SocialSettings.from_env,
    "chat_service": ChatSettings.from_env,
}
STORES = ("postgres", "redis")
# The services that own a schema, by package: devstack's list of what to migrate.
SCHEMA_OF = {package: schema for schema, (package, _events) in SCHEMAS.items()}
# The <SERVICE>_URL settings and the compose service each names.
URL_TARGETS = {
    "AUTH_URL": "auth_service",
    "POSTS_URL": "posts_service",
    "SOCIAL_URL": "social_service",
    "CHAT_URL": "chat_service",
}

_VARIABLE = re.compile(r"\$(?:\$|\{(\w+)(?:(:?)([-?])([^}]*))?\})")


def interpolate(text: str, values: Mapping[str, str | None]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}`, `${NAME:?error}` and `$$`, from `values`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, colon, kind, argument = match.groups()
        value = values.get(name)
        missing = value is None or (colon == ":" and value == "")
        if kind == "-":
            return argument if missing else str(value)
        if missing:
            raise AssertionError(f"${{{name}}} has no default and .env.example does not set it")
        return str(value)

    return _VARIABLE.sub(replace, text)


def interpolate_tree(node: Any, values: Mapping[str, str | None]) -> Any:
    """Fills in every string of the parsed file, as compose does after parsing YAML."""
    if isinstance(node, str):
        return interpolate(node, values)
    if isinstance(node, dict):
        return {key: interpolate_tree(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(item, values) for item in node]
    return node


@functools.cache
def compose() -> dict[str, Any]:
    document: dict[str, Any] = interpolate_tree(
        yaml.safe_load(COMPOSE.read_text()), dotenv_values(ENV_EXAMPLE)
    )
    return document


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def environment(service: str) -> dict[str, str]:
    """The service's environment as compose hands it over: every value a string."""
    return {name: str(value) for name, value in services()[service]["environment"].items()}


class RecordingEnv(Env):
    """An Env that remembers every variable asked for, and the default of each text one."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        super().__init__(environ)
        self.read: set[str] = set()
        self.defaults: dict[str, str] = {}

    def _raw(self, name: str) -> str | None:
        self.read.add(name)
        return super()._raw(name)

    def text(self, name: str, default: str) -> str:
        self.defaults[name] = default
        return super().text(name, default)


def read_by(service: str, environ: Mapping[str, str] | None = None) -> RecordingEnv:
    env = RecordingEnv(environ or {})
    APPS[service](env)
    return env


def gunicorn_variables() -> set[str]:
    """What deploy/gunicorn.conf.py and the image's health check read."""
    sources = (DEPLOY / "gunicorn.conf.py").read_text() + (DEPLOY / "healthcheck.py").read_text()
    return set(re.findall(r"""(?:_number|environ\.get)\(["']([A-Z_]+)["']""", sources))


def test_compose_file_matches_the_compose_specification() -> None:
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    # Named rather than looked up: the file spells its draft's URI in a form jsonschema
    # does not recognise ("http:.../schema#").
    validator = jsonschema.Draft201909Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []


def test_only_the_gateway_and_the_mail_ui_publish_ports() -> None:
    publishing = {name for name, service in services().items() if service.get("ports")}
    assert publishing == {"gateway", "mailpit"}
    assert [str(port).rsplit(":", 1)[-1] for port in services()["mailpit"]["ports"]] == ["8025"]


def test_one_service_builds_the_one_image_that_every_app_runs() -> None:
    # A build on every service would make compose build the same image once per service.
    built = {name for name, service in services().items() if "build" in service}
    assert built == {"gateway"}
    assert services()["gateway"]["build"]["dockerfile"] == "deploy/Dockerfile"
    for name in (*APPS, "migrations_check"):
        assert services()[name]["image"] == services()["gateway"]["image"], name


def test_the_gateway_gives_up_on_a_connection_as_a_local_network_allows() -> None:
    # The address of a container that died answers nothing: an attempt must end soon.
    assert float(environment("gateway")["UPSTREAM_CONNECT_TIMEOUT"]) <= 0.25


def test_no_service_has_a_container_name_so_every_one_scales() -> None:
    assert [name for name, service in services().items() if "container_name" in service] == []


@pytest.mark.parametrize("service", ["postgres", "redis", "mailpit", *APPS])
def test_every_service_has_a_health_check_a_restart_policy_and_limits(service: str) -> None:
    definition = services()[service]
    assert definition["healthcheck"]["test"]
    assert definition["restart"] in ("always", "unless-stopped", "on-failure")
    limits = definition["deploy"]["resources"]["limits"]
    assert limits["cpus"] and limits["memory"]


@pytest.mark.parametrize("service", list(APPS))
def test_every_app_starts_after_the_stores_it_uses_are_healthy(service: str) -> None:
    depends_on = services()[service]["depends_on"]
    needed = STORES if service in SCHEMA_OF else ("redis",)
    for store in needed:
        assert depends_on[store]["condition"] == "service_healthy"


@pytest.mark.parametrize("package", list(SCHEMA_OF))
def test_no_service_migrates_before_every_services_migrations_were_checked(package: str) -> None:
    depends_on = services()[package]["depends_on"]
    assert depends_on["migrations_check"] == {"condition": "service_completed_successfully"}


def test_the_migrations_check_reads_every_schema_and_changes_nothing() -> None:
    check = services()["migrations_check"]
    assert check["entrypoint"] == ["python", "-m", "devstack.migrate", "--check"]
    assert check["restart"] == "no"
    assert check["depends_on"]["postgres"]["condition"] == "service_healthy"
    # Only the owner of the database reads every service's schema.
    assert urlsplit(check["environment"]["DATABASE_URL"]).username == "postgres"


def test_gateway_starts_after_every_service_is_healthy() -> None:
    depends_on = services()["gateway"]["depends_on"]
    for service in URL_TARGETS.values():
        assert depends_on[service]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", list(APPS))
def test_services_reach_each_other_by_the_dns_name_of_every_replica(service: str) -> None:
    for name, value in environment(service).items():
        if name in URL_TARGETS:
            # One host name, which Docker resolves to all replicas; never a list of addresses.
            assert urlsplit(value).hostname == URL_TARGETS[name], (name, value)


@pytest.mark.parametrize("package", list(SCHEMA_OF))
def test_each_service_connects_as_a_role_that_owns_only_its_schema(package: str) -> None:
    url = urlsplit(environment(package)["DATABASE_URL"])
    assert url.username == package
    assert url.hostname == "postgres"
    script = ROLES_SCRIPT.read_text()
    assert f"CREATE ROLE {package} LOGIN" in script
    assert f"CREATE SCHEMA {SCHEMA_OF[package]} AUTHORIZATION {package};" in script


def test_uploads_live_on_named_volumes_that_replicas_share() -> None:
    named = set(compose()["volumes"])
    for service, variable in (
        ("posts_service", "MEDIA_DIR"),
        ("chat_service", "CHAT_ATTACHMENTS_DIR"),
    ):
        directory = environment(service)[variable]
        mounts = {m.split(":")[1]: m.split(":")[0] for m in services()[service]["volumes"]}
        assert mounts.get(directory) in named, (service, directory)


def test_signing_key_comes_from_a_compose_secret_never_from_the_environment() -> None:
    env = environment("auth_service")
    assert "JWT_SIGNING_KEY" not in env
    secret = env["JWT_SIGNING_KEY_FILE"].removeprefix("/run/secrets/")
    assert secret in services()["auth_service"]["secrets"]
    assert "file" in compose()["secrets"][secret]


@pytest.mark.parametrize("service", list(APPS))
def test_compose_sets_every_variable_whose_default_only_fits_a_developer_machine(
    service: str,
) -> None:
    env = read_by(service)
    # gunicorn binds the socket (GUNICORN_BIND); <SERVICE>_HOST serves `python -m` only.
    listen = f"{service.removesuffix('_service').upper()}_HOST"
    loopback = {
        name
        for name, default in env.defaults.items()
        if ("127.0.0.1" in default or "localhost" in default) and name != listen
    }
    if service not in SCHEMA_OF:
        loopback.discard("DATABASE_URL")  # read by every service's settings, used by these
    assert loopback, "the recording found no loopback default: is it still recording?"
    assert loopback - set(environment(service)) == set()


@pytest.mark.parametrize("service", list(APPS))
def test_compose_sets_only_variables_that_the_service_or_gunicorn_reads(service: str) -> None:
    known = read_by(service).read | gunicorn_variables()
    assert set(environment(service)) - known == set()


@pytest.mark.parametrize("service", list(APPS))
def test_settings_load_from_the_compose_environment(service: str, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    environ = environment(service)
    # The compose secrets, as files that the test can read.
    for name, value in environ.items():
        if value.startswith("/run/secrets/"):
            path = tmp_path / value.removeprefix("/run/secrets/")
            path.write_bytes(key if name == "JWT_SIGNING_KEY_FILE" else b"")
            environ[name] = str(path)
    settings = APPS[service](Env(environ))
    common = getattr(settings, "common", None)
    assert common is not None and common.is_production
