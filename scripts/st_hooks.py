"""Schemathesis hooks for Doorstep (loaded through SCHEMATHESIS_HOOKS by scripts/api_check.sh).

The sync endpoints take `application/x-doorstep`: opaque bytes to an HTTP client. Generated
bodies go out as they are, so that the server's decoder sees arbitrary bytes, text and empty
bodies under the right media type.
"""
import json

import schemathesis


@schemathesis.serializer("application/x-doorstep")
def doorstep_body(ctx, value):
    if isinstance(value, bytes):
        return {"data": value}
    if isinstance(value, str):
        return {"data": value.encode("utf-8", "surrogatepass")}
    return {"data": json.dumps(value, default=str).encode("utf-8")}
