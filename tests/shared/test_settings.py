"""Settings are read once, typed, and a bad variable is named in the error."""

import pytest

from shared.settings import CommonSettings, Env, Secret, SettingsError, mask_url


def test_defaults_suit_local_development() -> None:
    settings = CommonSettings.from_env("posts", 8002, Env({}))
    assert settings.port == 8002
    assert settings.environment == "development"
    assert settings.database_url.get().startswith("postgresql://")


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"POSTS_PORT": "eighty"}, "POSTS_PORT"),  # not a number
        ({"POSTS_PORT": "70000"}, "POSTS_PORT"),  # out of range
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),  # wrong scheme
        ({"REDIS_URL": "http://cache"}, "REDIS_URL"),  # wrong scheme
        ({"ENVIRONMENT": "staging"}, "ENVIRONMENT"),  # unknown choice
        ({"DB_POOL_MAX": "0"}, "DB_POOL_MAX"),  # below its minimum
        ({"SHUTDOWN_TIMEOUT": "soon"}, "SHUTDOWN_TIMEOUT"),  # not a number
    ],
)
def test_a_bad_variable_is_named_in_the_error(variables: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        CommonSettings.from_env("posts", 8002, Env(variables))


def test_booleans_accept_the_usual_spellings_and_refuse_others() -> None:
    env = Env({"A": "yes", "B": "0", "C": "maybe"})
    assert env.flag("A", False) is True
    assert env.flag("B", True) is False
    with pytest.raises(SettingsError, match="C must be true or false"):
        env.flag("C", False)


def test_secrets_never_show_in_repr() -> None:
    settings = CommonSettings.from_env(
        "auth", 8001, Env({"DATABASE_URL": "postgresql://app:hunter2@db/app"})
    )
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(Secret("hunter2"))
    assert settings.database_url.get() == "postgresql://app:hunter2@db/app"


def test_masked_url_hides_only_the_password() -> None:
    assert mask_url("postgresql://app:hunter2@db:5432/app") == "postgresql://app:****@db:5432/app"
    assert mask_url("redis://cache:6379/0") == "redis://cache:6379/0"
