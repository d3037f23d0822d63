"""What every Chop-chop service shares: settings, database, Redis, events, errors, app factory."""
