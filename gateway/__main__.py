"""`python -m gateway`: read the environment and serve."""

from gateway.app import create_app
from gateway.settings import GatewaySettings
from shared.service.app import run_service

if __name__ == "__main__":
    settings = GatewaySettings.from_env()
    run_service(lambda: create_app(settings), settings.common)
