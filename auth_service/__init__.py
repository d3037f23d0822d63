"""auth_service: accounts, login, JWT access and refresh tokens, e-mail confirmation and reset."""
