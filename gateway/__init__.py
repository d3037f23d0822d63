"""gateway: the one public URL. Routes, authenticates, balances, retries, rate-limits, documents."""
