"""`python -m posts_service`: read the environment and serve."""

from posts_service.app import create_app
from posts_service.settings import PostsSettings
from shared.service.app import run_service

if __name__ == "__main__":
    settings = PostsSettings.from_env()
    run_service(lambda: create_app(settings), settings.common)
