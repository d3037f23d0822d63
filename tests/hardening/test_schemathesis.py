"""Schemathesis against the merged OpenAPI document, through the gateway, as a signed-in
user, with every check on: no 5xx, no answer outside its schema or its documented statuses,
no schema-valid request refused.

`make test` runs a few examples per operation with a fixed seed. `make test-drills` runs more
(`SCHEMATHESIS_EXAMPLES`, 50 there) with a fresh random seed each time, which it prints and
every failure names (`SCHEMATHESIS_SEED=<n> make test-drills` replays it), and then the
stateful phase (`SCHEMATHESIS_STATEFUL` scenarios, 0 to skip): sequences of calls that feed
one answer into the next request along the links schemathesis infers from the document (an
article created, then read, updated, favorited, commented, deleted).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Flaky, Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.config import SchemathesisConfig
from schemathesis.core.transport import Response
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.stack import Stack

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "5"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261201"))
STATEFUL = int(os.environ.get("SCHEMATHESIS_STATEFUL", "0"))
REPLAY = f"seed {SEED}; replay with SCHEMATHESIS_SEED={SEED} make test-drills"


# Refusals of schema-valid input by design, which positive_data_acceptance would take for
# defects: (status, the field the error names). Only that check is skipped, only for these.
SCHEMA_VALID_REFUSALS: dict[str, set[tuple[int, str]]] = {
    # RealWorld: wrong credentials are a 422, and no schema can tell a right password from a
    # wrong one; likewise an unknown mailed token.
    "POST /api/users/login": {(422, "email or password")},
    "POST /api/auth/confirm": {(422, "token")},
    "POST /api/auth/password-reset/confirm": {(422, "token")},
    # API.md: a taken username or e-mail is a 422 naming it.
    "POST /api/users": {(422, "username"), (422, "email")},
    "PUT /api/user": {(422, "username"), (422, "email")},
    # Media ids must name the caller's own uploads, which exist only at run time.
    "POST /api/articles": {(422, "media")},
    "PUT /api/articles/{slug}": {(422, "media")},
    # An upload's bytes must be an image, which a schema cannot say.
    "POST /api/media": {(422, "file")},
    # API.md: nobody opens a direct chat with, follows or reports themselves.
    "POST /api/chats": {(422, "username")},
    "POST /api/profiles/{username}/follow": {(422, "username")},
    "DELETE /api/profiles/{username}/follow": {(422, "username")},
    "POST /api/users/{username}/report": {(422, "username")},
    # A reply names a message of the chat, an attachment an upload of the sender's, a
    # schedule a time in the future: facts of the moment of the request.
    # An invite lives at most CHAT_INVITE_MAX_TTL, a setting of the deployment (the document
    # states the largest value that setting may take).
    "POST /api/chats/{chat_id}/invites": {(422, "expiresInSeconds")},
    "POST /api/chats/{chat_id}/messages": {
        (422, "replyTo"),
        (422, "attachmentId"),
        (422, "sendAt"),
    },
}


# An Idempotency-Key sent again with another request is a 422 naming it (shared/web/
# idempotency.py), and generated keys repeat across examples: any operation taking the header
# may answer it.
REUSED_KEY = (422, "Idempotency-Key")


def refused_by_design(label: str, response: Response) -> bool:
    allowed = SCHEMA_VALID_REFUSALS.get(label, set()) | {REUSED_KEY}
    if not allowed or response.status_code >= 500:
        return False
    try:
        named = set(json.loads(response.content)["errors"]) - {"body"}
    except (ValueError, KeyError, TypeError):
        return False
    return bool(named) and all((response.status_code, field) in allowed for field in named)


def signed(case: Case[Any], headers: dict[str, str]) -> dict[str, str]:
    """The caller's token for the case, unless it is a negative case without the Authorization
    header: leaving the token out is its point, and the token put back would make the request
    a valid one (which the server then rightly accepts)."""
    meta = case.meta
    dropped = "authorization" not in {name.lower() for name in case.headers or {}}
    if meta is not None and meta.generation.mode.is_negative and dropped:
        return {}
    return headers


PART_NAME = re.compile(rb'^Content-Disposition: form-data; name="([^"]*)"', re.MULTILINE)


def sent_one_file_part(case: Case[Any], response: Response) -> bool:
    """Whether a multipart request went out as one part named `file`, which is what the upload
    routes' document asks for. Schemathesis serialises a negative body that is not an object
    (bytes, say) as that very part, so such a case reaches the server valid and is rightly
    accepted; the negative check is not run on it."""
    body = response.request.body
    if not (case.media_type or "").startswith("multipart/") or not isinstance(body, bytes):
        return False
    return PART_NAME.findall(body) == [b"file"]


def excluded_checks(case: Case[Any], response: Response) -> list[CheckFunction]:
    excluded: list[CheckFunction] = []
    if refused_by_design(case.operation.label, response):
        excluded.append(positive_data_acceptance)
    if sent_one_file_part(case, response):
        excluded.append(negative_data_rejection)
    return excluded


def sign_up(url: str, name: str) -> str:
    answer = requests.post(
        f"{url}/api/users",
        json={"user": {"username": name, "email": f"{name}@example.com", "password": "p" * 8}},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["user"]["token"])


def load_schema(url: str) -> OpenApiSchema:
    config = SchemathesisConfig()
    config.update(seed=SEED, max_failures=None)
    project = config.projects.default
    project.update(base_url=url, request_timeout=10)
    # PostgreSQL cannot store NUL in text, so every text field refuses it (422, naming the
    # field; tests/hardening/test_input_faults.py), which the documents do not repeat on
    # each string.
    project.generation.update(max_examples=EXAMPLES, allow_x00=False)
    project.checks.update(included_check_names=["all"])
    # A websocket's handshake is accepted with 101 Switching Protocols, which both checks
    # would otherwise count as neither a success nor a client error.
    for check in (project.checks.positive_data_acceptance, project.checks.not_a_server_error):
        check.expected_statuses = [*check.expected_statuses, "101"]
    return schemathesis.openapi.from_url(f"{url}/api/openapi.json", config=config, timeout=10)


def exercise(
    operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, headers: dict[str, str]
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is shown
    )
    @seed(SEED)
    def run(case: Case[Any]) -> None:
        sent = signed(case, headers)
        response = case.call(headers=sent)
        case.validate_response(
            response, headers=sent, excluded_checks=excluded_checks(case, response)
        )

    run()


def test_every_operation_keeps_its_document(running_stack: Stack) -> None:
    schema = load_schema(running_stack.url)
    failures: list[str] = []
    for number, result in enumerate(schema.get_all_operations()):
        operation = result.ok()  # type: ignore[union-attr]  # Err raises here, as it should
        # A user of its own for every operation: logging out or deleting the account must
        # not turn the rest of the run into 401s.
        headers = {"Authorization": f"Token {sign_up(running_stack.url, f'fuzz{number}')}"}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                exercise(operation, mode, headers)
            except Unsatisfiable:
                # No invalid input exists (a route whose only parameters are free strings).
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as exc:  # every operation runs; all listed
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
    assert not failures, REPLAY + "\n\n" + "\n\n".join(failures)


def test_sequences_of_operations_keep_the_document(running_stack: Stack) -> None:
    if not STATEFUL:
        pytest.skip("the stateful phase runs in make test-drills (SCHEMATHESIS_STATEFUL)")
    schema = load_schema(running_stack.url)
    headers = {"Authorization": f"Token {sign_up(running_stack.url, 'stateful')}"}
    machine = schema.as_state_machine()
    called: list[str] = []
    failures: list[str] = []
    scenarios = 0

    class Signed(machine):  # type: ignore[valid-type,misc]
        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            called.append(case.operation.label)
            return {"headers": signed(case, headers)}

        def validate_response(
            self,
            response: Response,
            case: Case[Any],
            additional_checks: list[CheckFunction] | None = None,
            **kwargs: Any,
        ) -> None:
            try:
                case.validate_response(
                    response,
                    additional_checks=additional_checks,
                    excluded_checks=excluded_checks(case, response),
                    headers=signed(case, headers),
                    transport_kwargs=kwargs or None,
                    recorder=self.recorder,
                )
            except (Exception, BaseExceptionGroup) as exc:
                # Recorded when it happens: Hypothesis's replay of the failing scenario meets
                # a server whose data has changed since, and may not fail the same way.
                failures.append(f"{case.operation.label}: {exc}"[:3000])
                raise

        def teardown(self) -> None:
            nonlocal scenarios
            scenarios += 1
            super().teardown()

    # Hypothesis expects a test to draw the same data from the same choices, but a step's
    # choices depend on what the server answered before (which links have values), and the
    # server's data changes from one scenario to the next. When Hypothesis notices (Flaky),
    # its run ends; the scenarios it ran were checked as they ran, and a new run with the next
    # seed goes on until STATEFUL scenarios have run, as schemathesis's own runner does.
    # A session ended by a step (logout, a password change, a deleted account) makes the rest
    # 401, which the document allows.
    for run in range(STATEFUL):
        if scenarios >= STATEFUL or failures:
            break
        settings_ = settings(
            max_examples=STATEFUL - scenarios,
            deadline=None,
            database=None,
            derandomize=False,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
            stateful_step_count=10,
        )
        try:
            seed(SEED + run)(Signed).run(settings=settings_)
        except Flaky:
            pass  # see above; a check that failed is in `failures` already
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(str(exc)[:3000])
    assert not failures, REPLAY + "\n\n" + "\n\n".join(failures)
    # Sequences ran, along links: more than one operation was called.
    assert scenarios >= STATEFUL and len(set(called)) > 1, (scenarios, called)
