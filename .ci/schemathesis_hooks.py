"""schemathesis hooks for `.ci/run`: rules of the API that its OpenAPI 3.0 document cannot
state as schema keywords, taught to the generator so that its valid requests really are
valid.

1. Uploads (`map_body` on POST /leads/{lead_id}/documents, applied as bodies are drawn):
   - Files are judged by their first bytes. The document says so (the `file` part is "a
     PDF, JPEG or PNG file"), but to a schema a file is just `format: binary`, so left alone
     schemathesis sends GIF, WebP, ZIP or random bytes as "valid" files. A drawn file that
     does not start with an accepted signature gets a PDF signature in front (the server
     looks only at the signature; the rest of the bytes stay as drawn). The bytes of a file
     never decide whether a body is schema-valid, so this changes no case's mode.
   - Other parts are ignored by the server, so the schema allows them, but a part's name
     travels in its Content-Disposition header, where control characters cannot go (such a
     body is malformed: a 400). OpenAPI 3.0 has no `propertyNames`, so generated extra
     parts whose names hold control characters are dropped.

2. An `Idempotency-Key` is state: the same key from the same partner with a different
   request is a 422 by design (the first answer is kept for 24 hours). A fuzzer draws keys
   from a small space and shrinks them ("0", "00", ...), so a schema-valid create can reuse
   a key an earlier, different create already used and be refused for that reason alone.
   `before_call` gives the key of every positive (schema-valid) request a fresh suffix just
   before it is sent, so each such create is judged on its own data. Negative requests are
   sent unchanged. The replay and reuse rules themselves are tested in
   tests/api/idempotency.rs.
"""

import itertools
import re
import uuid

import schemathesis
from schemathesis.transport.serialization import Binary

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FILE_SIGNATURES = (b"%PDF-", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
_VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_RUN = uuid.uuid4().hex[:12]
_COUNTER = itertools.count()


def _fix_upload(form):
    fixed = {k: v for k, v in form.items() if not (isinstance(k, str) and _CONTROL.search(k))}
    data = fixed.get("file")
    if isinstance(data, Binary) and not data.data.startswith(_FILE_SIGNATURES):
        fixed["file"] = Binary(b"%PDF-1.4\n" + data.data)
    elif isinstance(data, bytes) and not data.startswith(_FILE_SIGNATURES):
        fixed["file"] = b"%PDF-1.4\n" + data
    return fixed


@schemathesis.hook
def map_body(context, body):
    operation = context.operation
    if operation is None or operation.method.upper() != "POST":
        return body
    if operation.path != "/leads/{lead_id}/documents":
        return body
    if isinstance(body, dict):
        return _fix_upload(body)
    # Multipart bodies whose parts have several possible content types come wrapped, with
    # the drawn form in `.body`.
    form = getattr(body, "body", None)
    if isinstance(form, dict):
        body.body = _fix_upload(form)
    return body


@schemathesis.hook
def before_call(context, case, **kwargs):
    # Negative cases are left alone: one of them may be a request *without* some header, and
    # an edit here would make schemathesis re-judge it as positive and put that header back.
    if case.meta is not None and case.meta.generation.mode.is_negative:
        return
    headers = case.headers
    if headers:
        key = headers.get("Idempotency-Key")
        if isinstance(key, str) and _VALID_KEY.fullmatch(key):
            headers["Idempotency-Key"] = f"{key[:200]}-{_RUN}-{next(_COUNTER)}"
