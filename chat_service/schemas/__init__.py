"""Marshmallow schemas of chat_service, the OpenAPI source, one module per subject: XxxIn
loads, XxxOut answers; `common` holds the limits and fields they share. Callers import the
module they need, e.g. `from chat_service.schemas.messages import MessageOut`."""
