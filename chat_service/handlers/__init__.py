"""HTTP handlers of chat_service, one module per subject: parse with a schema, call the
domain, answer with the schema's shape."""
