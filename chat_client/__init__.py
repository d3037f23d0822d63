"""chopchop-chat: a console client for the Chop-chop chat that speaks only the public API."""
