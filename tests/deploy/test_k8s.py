"""deploy/k8s: the base and the example overlay render with kustomize into objects that the
Kubernetes API's schemas accept, with the probes, limits and scaling every service needs."""

from __future__ import annotations

import functools
import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.tools import DEPLOY, tool

K8S = DEPLOY / "k8s"
TREES = {"base": K8S, "example overlay": K8S / "overlays" / "example"}
KUBERNETES_VERSION = "1.32.0"
INTERNAL = ("auth", "posts", "social", "chat")


@functools.cache
def render(tree: str) -> list[dict[str, Any]]:
    kubectl = tool("kubectl", "install the Debian package kubectl (apt-get install kubectl)")
    result = subprocess.run(
        [kubectl, "kustomize", str(TREES[tree])], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def objects(tree: str, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in render(tree) if o["kind"] == kind}


@pytest.mark.parametrize("tree", list(TREES))
def test_every_rendered_object_is_valid_for_the_kubernetes_api(tree: str) -> None:
    failures = []
    for document in render(tree):
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{document['kind']}/{document['metadata']['name']}: {exc.message}")
    assert failures == []


@pytest.mark.parametrize("tree", list(TREES))
def test_every_service_has_probes_resources_an_autoscaler_and_a_disruption_budget(
    tree: str,
) -> None:
    deployments = objects(tree, "Deployment")
    assert set(deployments) == {"gateway", *INTERNAL}
    autoscaled = {
        h["spec"]["scaleTargetRef"]["name"]
        for h in objects(tree, "HorizontalPodAutoscaler").values()
    }
    budgets = {
        tuple(sorted(p["spec"]["selector"]["matchLabels"].items()))
        for p in objects(tree, "PodDisruptionBudget").values()
    }
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert name in autoscaled
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert tuple(sorted(selector.items())) in budgets


@pytest.mark.parametrize("tree", list(TREES))
def test_internal_services_are_headless_so_their_name_resolves_to_every_pod(tree: str) -> None:
    services = objects(tree, "Service")
    for name in INTERNAL:
        assert services[name]["spec"]["clusterIP"] == "None"
    config = next(iter(objects(tree, "ConfigMap").values()))["data"]
    for name in INTERNAL:
        assert config[f"{name.upper()}_URL"] == f"http://{name}:8000"


@pytest.mark.parametrize("tree", list(TREES))
def test_the_ingress_sends_everything_to_the_gateway_with_websocket_timeouts(tree: str) -> None:
    (ingress,) = objects(tree, "Ingress").values()
    annotations = ingress["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    (rule,) = ingress["spec"]["rules"]
    backends = {path["backend"]["service"]["name"] for path in rule["http"]["paths"]}
    assert backends == {"gateway"}


@pytest.mark.parametrize("tree", list(TREES))
def test_no_service_pod_migrates_before_every_services_migrations_were_checked(tree: str) -> None:
    deployments = objects(tree, "Deployment")
    for name in INTERNAL:
        (check,) = deployments[name]["spec"]["template"]["spec"]["initContainers"]
        assert check["command"] == ["python", "-m", "devstack.migrate", "--check"]
        (url,) = check["env"]
        assert url["name"] == "DATABASE_URL"
        secret = url["valueFrom"]["secretKeyRef"]
        # The overlay's generator suffixes the secret's name with a hash of its content.
        assert secret["name"].startswith("chopchop-secrets")
        assert secret["key"] == "MIGRATIONS_CHECK_DATABASE_URL"
        assert check["resources"]["limits"]
    assert "initContainers" not in deployments["gateway"]["spec"]["template"]["spec"]


# Who calls whom: the gateway every service; posts auth and social; social and chat auth.
CALLERS = {
    "auth": {"gateway", "posts", "social", "chat"},
    "posts": {"gateway"},
    "social": {"gateway", "posts"},
    "chat": {"gateway"},
}


def _component(selector: dict[str, Any]) -> str | None:
    return selector.get("matchLabels", {}).get("app.kubernetes.io/component")  # type: ignore[no-any-return]


@pytest.mark.parametrize("tree", list(TREES))
def test_network_policies_let_only_the_gateway_and_the_callers_reach_a_service(
    tree: str,
) -> None:
    policies = objects(tree, "NetworkPolicy").values()
    denies = [p for p in policies if _component(p["spec"]["podSelector"]) is None]
    assert [p["spec"].get("ingress") for p in denies] == [None]  # one default deny
    assert denies[0]["spec"]["policyTypes"] == ["Ingress"]
    allowed: dict[str, set[str]] = {}
    for policy in policies:
        target = _component(policy["spec"]["podSelector"])
        if target is None:
            continue
        for rule in policy["spec"].get("ingress", []):
            sources = rule.get("from")
            if sources is None:
                allowed.setdefault(target, set()).add("anyone")
                continue
            for source in sources:
                assert set(source) == {"podSelector"}, source  # pods of this namespace only
                component = _component(source["podSelector"])
                assert component is not None
                allowed.setdefault(target, set()).add(component)
    assert allowed == {"gateway": {"anyone"}, **CALLERS}


@pytest.mark.parametrize("tree", list(TREES))
def test_every_pod_reads_the_internal_key_from_a_secret(tree: str) -> None:
    secrets = objects(tree, "Secret")
    (internal,) = [s for name, s in secrets.items() if name.startswith("chopchop-internal-auth")]
    for name, deployment in objects(tree, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        refs = [e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e]
        assert refs == [internal["metadata"]["name"]], name
