"""`python -m social_service`: read the environment and serve."""

from shared.service.app import run_service
from social_service.app import create_app
from social_service.settings import SocialSettings

if __name__ == "__main__":
    settings = SocialSettings.from_env()
    run_service(lambda: create_app(settings), settings.common)
