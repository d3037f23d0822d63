"""The hardening tests go through the e2e stack of processes, as a client would."""

from tests.e2e.conftest import api, running_stack  # noqa: F401 - the stack fixtures
