"""The local stack: embedded PostgreSQL and Valkey, a mail catcher, every service a process."""
