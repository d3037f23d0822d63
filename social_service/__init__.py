"""social_service: follows, likes and profiles."""
