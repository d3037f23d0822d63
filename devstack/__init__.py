"""The local stack: embedded PostgreSQL and Valkey, a mail catcher, and every service as a process."""
