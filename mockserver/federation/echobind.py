"""echo v4.13.4's `DefaultBinder.Bind` of R4's `deleteRequest{Owner, Namespace}` (json tags only).

The real handler answers `400 err.Error()` for any bind failure, so the texts here are echo's
`HTTPError` strings (`code=…, message=…[, internal=…]`). What the binder does, by media type
(`echo:bind.go:68-117`, `echo:json.go:26-34`):

- a request whose Go `ContentLength` is 0 (no body, or `Content-Length: 0`) binds nothing; a
  chunked body (length -1) is read even when empty;
- the media type is the Content-Type up to `;`, space-trimmed, compared exactly (case matters):
  anything but the five bindable types is `code=415, message=Unsupported Media Type`;
- JSON: one value read by a `json.Decoder` (trailing data ignored, member names fold case);
  `io.EOF` / `io.ErrUnexpectedEOF` become `message=EOF` / `message=unexpected EOF`;
- forms: parsed (so malformed escapes fail with Go's texts) but nothing binds, the struct has no
  `form` tags;
- XML: elements named like the Go fields (`<Owner>`, `<Namespace>`), case-sensitively.
"""

from __future__ import annotations

from xml.etree import ElementTree

from mockserver.federation.errors import BadRequest
from mockserver.godecode import GoEndOfInput, GoJSONError, GoSyntaxError, GoTypeError, string_fields

DELETE_REQUEST_TYPE = "server.deleteRequest"
"""The Go type R4 binds into (`server.go:396-399`), as `reflect.Type` prints it."""
DELETE_REQUEST_STRUCT = "deleteRequest"
FIELDS = ("owner", "namespace")
XML_FIELDS = {"Owner": "owner", "Namespace": "namespace"}
JSON = "application/json"
XML_TYPES = ("application/xml", "text/xml")
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
_GO_SPACE = " \t\n\v\f\r\x85\xa0"


def _http_error(code: int, message: str, internal: str | None = None) -> BadRequest:
    text = f"code={code}, message={message}"
    return BadRequest(text if internal is None else f"{text}, internal={internal}")


def media_type(content_type: str) -> str:
    """echo's `strings.TrimSpace(strings.Cut(Content-Type, ";")[0])`: no lower-casing."""
    return content_type.split(";", 1)[0].strip(_GO_SPACE)


def bind_delete_request(
    body: bytes, content_type: str, zero_length: bool, raw_query: str = ""
) -> tuple[str, str]:
    """(owner, namespace) as echo binds them, or the `BadRequest` the handler answers."""
    if zero_length:
        return "", ""
    kind = media_type(content_type)
    if kind == JSON:
        return _bind_json(body)
    if kind in XML_TYPES:
        return _bind_xml(body)
    if kind == FORM:
        error = form_error(body.decode("latin-1")) or form_error(raw_query)
        if error is not None:
            raise _http_error(400, error, error)
        return "", ""
    if kind == MULTIPART:
        error = multipart_error(content_type, body) or form_error(raw_query)
        if error is not None:
            raise _http_error(400, error, error)
        return "", ""
    raise _http_error(415, "Unsupported Media Type")


def _bind_json(body: bytes) -> tuple[str, str]:
    try:
        fields = string_fields(
            body, FIELDS, DELETE_REQUEST_TYPE, struct=DELETE_REQUEST_STRUCT, stream=True
        )
    except GoTypeError as exc:
        message = (
            f"Unmarshal type error: expected={exc.type_name}, got={exc.value}, "
            f"field={exc.field}, offset={exc.offset}"
        )
        raise _http_error(400, message, str(exc)) from exc
    except GoSyntaxError as exc:
        raise _http_error(400, f"Syntax error: offset={exc.offset}, error={exc}", str(exc)) from exc
    except (GoEndOfInput, GoJSONError) as exc:
        raise _http_error(400, str(exc), str(exc)) from exc
    return fields["owner"], fields["namespace"]


def _bind_xml(body: bytes) -> tuple[str, str]:
    """encoding/xml's Decode of the first element: child elements named like the fields."""
    if not body.strip(b" \t\r\n"):
        raise _http_error(400, "EOF", "EOF")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        line = exc.position[0]
        reason = str(exc).split(":", 1)[0]
        internal = f"XML syntax error on line {line}: {reason}"
        raise _http_error(400, f"Syntax error: line={line}, error={internal}", internal) from exc
    found = {"owner": "", "namespace": ""}
    for child in root:
        name = XML_FIELDS.get(str(child.tag))
        if name is not None:
            # Go keeps the element's own character data; nested elements are skipped.
            found[name] = (child.text or "") + "".join(c.tail or "" for c in child)
    return found["owner"], found["namespace"]


def go_quote(text: str) -> str:
    """Go's `strconv.Quote` for the short byte strings of escape errors (latin-1 decoded)."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\x{code:02x}")
    return '"' + "".join(out) + '"'


def _unescape_error(part: str) -> str | None:
    """`url.QueryUnescape`'s EscapeError text for a malformed `%`, else None."""
    i = part.find("%")
    while i >= 0:
        pair = part[i + 1 : i + 3]
        if len(pair) < 2 or any(c not in "0123456789abcdefABCDEF" for c in pair):
            return f"invalid URL escape {go_quote(part[i : i + 3])}"
        i = part.find("%", i + 3)
    return None


def form_error(query: str) -> str | None:
    """The first error `url.ParseQuery` returns for `query` (it keeps parsing after one)."""
    for item in query.split("&"):
        if ";" in item:
            return "invalid semicolon separator in query"
        if not item:
            continue
        key, _, value = item.partition("=")
        error = _unescape_error(key) or _unescape_error(value)
        if error is not None:
            return error
    return None


def multipart_error(content_type: str, body: bytes) -> str | None:
    """What `Request.ParseMultipartForm` says of a multipart body without parts to bind."""
    params = content_type.split(";")[1:]
    boundary = None
    for param in params:
        name, _, value = param.strip(_GO_SPACE).partition("=")
        if name.lower() == "boundary":
            boundary = value.strip('"')
    if boundary is None:
        return "no multipart boundary param in Content-Type"
    if f"--{boundary}".encode("latin-1") not in body:
        return "multipart: NextPart: EOF"
    return None
