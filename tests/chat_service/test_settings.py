"""chat_service's settings: the defaults the README documents."""

from __future__ import annotations

from chat_service.settings import ChatSettings
from shared.settings import Env


def test_the_rules_default_to_the_numbers_of_the_readme() -> None:
    settings = ChatSettings.from_env(Env({}))
    assert (settings.send_limit, settings.send_period) == (20, 3600)
    assert (settings.ban_reports, settings.ban_seconds) == (3, 4 * 3600)
    assert settings.max_attachment_bytes == 5 * 1024 * 1024
    assert settings.general_ttl == 3600
