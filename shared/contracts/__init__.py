"""What one service writes to Redis and another reads: profiles, social facts, revoked tokens."""
