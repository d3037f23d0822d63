"""The servers the test run talks to (see devstack.infra)."""

from devstack.infra import TEST_DATABASE, Infra, _with_database, start_infra, stop_infra

__all__ = ["TEST_DATABASE", "Infra", "_with_database", "start_infra", "stop_infra"]
