"""The HTTP surface every service shares: middlewares, errors, input schemas, the caller,
idempotency keys and the time format of API.md."""
