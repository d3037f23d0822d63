"""`python -m auth_service`: read the environment and serve."""

from auth_service.app import create_app
from auth_service.settings import AuthSettings
from shared.service.app import run_service

if __name__ == "__main__":
    settings = AuthSettings.from_env()
    run_service(lambda: create_app(settings), settings.common)
