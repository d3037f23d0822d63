"""`python -m chat_service`: read the environment and serve."""

from chat_service.app import create_app
from chat_service.settings import ChatSettings
from shared.service.app import run_service

if __name__ == "__main__":
    settings = ChatSettings.from_env()
    run_service(lambda: create_app(settings), settings.common)
