"""The former home of the JSON codec, now shared/web/jsoncodec.py (JSON is the web's format,
and this room's modules import the web's, never the other way round). chat_service's modules
still import it from here; once they import shared.web.jsoncodec, this module goes."""

from shared.web.jsoncodec import (
    CONTENT_TYPE,
    JSONDecodeError,
    dumps,
    dumps_bytes,
    json_response,
    loads,
)

__all__ = ["CONTENT_TYPE", "JSONDecodeError", "dumps", "dumps_bytes", "json_response", "loads"]
