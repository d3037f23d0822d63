"""social_service."""
