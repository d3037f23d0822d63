"""posts_service."""
