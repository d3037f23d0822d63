"""Where state lives: the PostgreSQL pool and migrations, Redis and its cache, stored files."""
