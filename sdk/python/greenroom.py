"""Helpers for Greenroom plugins written in Python.

`greenroom plugin build` puts this module on the plugin's path, beside the bindings that
componentize-py generates for the contract (`wit_world`). It wraps those bindings in the
shapes a plugin author works with:

- `Ui`: builds the declarative UI tree a tab, card or page returns, buttons and forms
  included (their use calls the plugin's `interactions` export);
- `field_text`, `field_number`, `field_select`, `field_checkbox`: a form's fields;
- `value`: a submitted form value by field name;
- `annotation`, `related`, `spec`: read an entity;
- `http_get`, `http_request`: outgoing HTTP over wasi:http (only to hosts the operator
  granted);
- `serve`, `Request`, `Reply`: the plugin's own HTTP routes (`/api/plugins/<id>/http/...`),
  from its `IncomingHandler.handle`;
- `config`, `log`: the plugin's settings and the server's log;
- `schedule`: `schedule.run_soon(schedule.Job.SEARCH_DOCUMENTS)` (or `ENTITY_PROVIDER`)
  asks the host to collect the plugin's search documents or run its provider now;
- `catalog`, `docs`, `storage`, `templating`: the contract's imports themselves (each
  raises `Err` with the host's message on failure); `storage` is the plugin's own
  key-value store (`get`, `set`, `delete`, `list_keys`).

Raise `Err("message")` (from `componentize_py_types`) to fail a call with a message the
portal shows; any other uncaught exception traps the call.
"""

import json
from typing import Dict, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from componentize_py_types import Err, Ok
from wit_world.imports import catalog, docs, storage, templating
from wit_world.imports import config as _config
from wit_world.imports import greenroom_plugin_types as types
from wit_world.imports import log as _log
from wit_world.imports import outgoing_handler, schedule, streams
from wit_world.imports import wasi_http_types as http

__all__ = [
    "Err", "HttpError", "Response", "Ui", "annotation", "catalog", "config", "docs",
    "field_checkbox", "field_number", "field_select", "field_text", "http_get", "http_request",
    "log", "tone",
    "related", "Reply", "Request", "schedule", "serve", "spec", "storage", "templating", "types",
    "value",
]

TONES = {
    "neutral": types.Tone.NEUTRAL,
    "info": types.Tone.INFO,
    "success": types.Tone.SUCCESS,
    "warning": types.Tone.WARNING,
    "danger": types.Tone.DANGER,
}


class Ui:
    """Builds a UI tree. Each method adds a node and returns its id; containers take the
    ids of nodes added before them, so the tree has no cycles."""

    def __init__(self) -> None:
        self._nodes: List[types.Node] = []

    def _add(self, node: types.Node) -> int:
        self._nodes.append(node)
        return len(self._nodes) - 1

    def heading(self, text: str) -> int:
        return self._add(types.Node_Heading(text))

    def text(self, text: str) -> int:
        return self._add(types.Node_Text(text))

    def markdown(self, source: str) -> int:
        """Rendered and sanitized by the server."""
        return self._add(types.Node_Markdown(source))

    def link(self, label: str, url: str) -> int:
        """`url` is http(s) or a portal path starting with `/`."""
        return self._add(types.Node_Link(types.Link(label, url)))

    def badge(self, label: str, tone: str = "neutral") -> int:
        """`tone` is one of neutral, info, success, warning, danger."""
        return self._add(types.Node_Badge(types.Badge(label, TONES[tone])))

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[int]]) -> int:
        return self._add(types.Node_Table(types.Table(list(columns), [list(r) for r in rows])))

    def key_values(self, pairs: Sequence[Tuple[str, str]]) -> int:
        return self._add(types.Node_KeyValues([(k, v) for k, v in pairs]))

    def code(self, code: str, language: Optional[str] = None) -> int:
        return self._add(types.Node_Code(types.CodeBlock(language, code)))

    def list(self, children: Sequence[int]) -> int:
        return self._add(types.Node_List(list(children)))

    def section(self, title: str, children: Sequence[int]) -> int:
        return self._add(types.Node_Section(types.Section(title, list(children))))

    def empty(self, message: str) -> int:
        return self._add(types.Node_Empty(message))

    def button(self, action_id: str, label: str, tone: str = "neutral",
               confirm: Optional[str] = None) -> int:
        """Pressing it calls `handle_action` with `action_id`; with `confirm`, the user is
        asked that question first."""
        return self._add(types.Node_Button(types.Button(action_id, label, TONES[tone], confirm)))

    def form(self, action_id: str, fields: Sequence[types.Field], submit_label: str) -> int:
        """Submitting it calls `handle_action` with `action_id` and each field's value."""
        return self._add(types.Node_Form(types.Form(action_id, list(fields), submit_label)))

    def finish(self, root: int) -> types.Tree:
        return types.Tree(self._nodes, root)


def tone(name: str) -> types.Tone:
    """A tone by name: neutral, info, success, warning or danger (badges, buttons, notices)."""
    return TONES[name]


def field_text(name: str, label: str, value: str = "", required: bool = False) -> types.Field:
    return types.Field(name, label, types.FieldKind_Text(value), required)


def field_number(name: str, label: str, value: float = 0.0,
                 required: bool = False) -> types.Field:
    return types.Field(name, label, types.FieldKind_Number(float(value)), required)


def field_select(name: str, label: str, options: Sequence[Tuple[str, str]],
                 selected: Optional[str] = None) -> types.Field:
    """`options` are (value, label) pairs."""
    choice = types.SelectField([(v, l) for v, l in options], selected)
    return types.Field(name, label, types.FieldKind_Select(choice), False)


def field_checkbox(name: str, label: str, checked: bool = False) -> types.Field:
    return types.Field(name, label, types.FieldKind_Checkbox(checked), False)


def value(request, name: str):
    """The submitted value of field `name` of an action request (str, float or bool), or
    None."""
    return next((v.value for k, v in request.values if k == name), None)


def annotation(entity: types.Entity, key: str) -> Optional[str]:
    """The value of one of the entity's annotations, or None."""
    return next((v for k, v in entity.annotations if k == key), None)


def related(entity: types.Entity, relation_type: str) -> Iterator[str]:
    """Target refs of the entity's relations of one type (`ownedBy`, `dependsOn`, ...)."""
    return (r.target_ref for r in entity.relations if r.type == relation_type)


def spec(entity: types.Entity) -> Dict:
    """The entity's `spec` as a dict."""
    return json.loads(entity.spec_json)


def config(key: str) -> Optional[str]:
    """A setting the operator granted this plugin, or None when unset."""
    try:
        return _config.get(key)
    except Err as e:
        raise Err(f"config '{key}': {e.value}")


def log(level: str, message: str) -> None:
    """Writes to the server's log under this plugin's id. `level`: trace, debug, info,
    warn, error."""
    _log.log(_log.Level[level.upper()], message)


class HttpError(Exception):
    """The request could not be made or was refused by the host (ungranted host)."""


class Response:
    def __init__(self, status: int, headers: List[Tuple[str, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body)


_METHODS = {
    "GET": http.Method_Get,
    "POST": http.Method_Post,
    "PUT": http.Method_Put,
    "PATCH": http.Method_Patch,
    "DELETE": http.Method_Delete,
}


def http_get(
    url: str, headers: Optional[Dict[str, str]] = None, timeout: Optional[float] = None
) -> Response:
    """`GET url` (http or https) with optional headers, reading the whole body. Blocks until
    the answer arrives or the call's deadline passes; with `timeout` (seconds) it fails with
    `no response within ...` sooner. Keep it shorter than the call's deadline (2 s unless the
    operator sets another), so the plugin can still show its own message when a server is
    slow. Raises `HttpError` naming the request and what failed, e.g. `GET <url>: denied:
    host <host:port> is not granted to plugin <id>`."""
    return http_request("GET", url, headers, None, timeout)


def http_request(
    method: str,
    url: str,
    headers: Optional[Dict[str, str]] = None,
    body: Optional[bytes] = None,
    timeout: Optional[float] = None,
) -> Response:
    """Like `http_get`, with any of GET, POST, PUT, PATCH and DELETE and an optional body."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HttpError(f"'{url}' is not an http(s) URL")
    if method not in _METHODS:
        raise HttpError(f"unsupported method '{method}'")
    what = f"{method} {url}"
    fields = http.Fields.from_list(
        [(name, value.encode()) for name, value in (headers or {}).items()]
        + ([("content-length", str(len(body)).encode())] if body is not None else [])
    )
    request = http.OutgoingRequest(fields)
    request.set_method(_METHODS[method]())
    request.set_scheme(http.Scheme_Https() if parts.scheme == "https" else http.Scheme_Http())
    request.set_authority(parts.netloc)
    request.set_path_with_query(parts.path + ("?" + parts.query if parts.query else "") or "/")
    options = None
    if timeout is not None:
        nanos = int(timeout * 1e9)
        options = http.RequestOptions()
        options.set_connect_timeout(nanos)
        options.set_first_byte_timeout(nanos)
        options.set_between_bytes_timeout(nanos)
    outgoing = request.body()
    try:
        future = outgoing_handler.handle(request, options)
    except Err as e:
        raise HttpError(f"{what}: {_describe(e.value, timeout)}")
    with outgoing.write() as stream:
        # At most 4096 bytes per write, as wasi:io's blocking write allows.
        for start in range(0, len(body or b""), 4096):
            stream.blocking_write_and_flush(body[start:start + 4096])
    http.OutgoingBody.finish(outgoing, None)
    # Child resources (pollables, streams) are dropped before their parents, as wasi:http
    # requires; hence the `with` blocks.
    with future:
        answer = future.get()
        while answer is None:
            with future.subscribe() as ready:
                ready.block()
            answer = future.get()
    if isinstance(answer, Err) or isinstance(answer.value, Err):
        failure = answer.value if isinstance(answer, Err) else answer.value.value
        raise HttpError(f"{what}: {_describe(failure, timeout)}")
    with answer.value.value as response:
        status = response.status()
        response_headers = response.headers().entries()
        try:
            body = _read_all(response)
        except Err:
            raise HttpError(f"{what}: reading the body failed")
    return Response(status, response_headers, body)


def _read_all(message) -> bytes:
    """The whole body of an incoming request or response (child resources dropped before
    their parents, as wasi:http requires)."""
    chunks = []
    with message.consume() as body:
        with body.stream() as stream:
            while True:
                try:
                    chunks.append(stream.blocking_read(64 * 1024))
                except Err as e:
                    if isinstance(e.value, streams.StreamError_Closed):
                        break
                    raise
    return b"".join(chunks)


_PLAIN_WORDS = {
    "HttpRequestDenied": "denied: the host is not granted to this plugin",
    "DnsTimeout": "the host name does not resolve",
    "DnsError": "the host name does not resolve",
    "DestinationNotFound": "the host name does not resolve",
    "ConnectionRefused": "connection refused",
    "DestinationUnavailable": "the host cannot be reached",
    "DestinationIpUnroutable": "the host cannot be reached",
    "ConnectionTerminated": "the connection was closed early",
    "TlsCertificateError": "the server's TLS certificate was not accepted",
    "TlsProtocolError": "TLS failed",
    "TlsAlertReceived": "TLS failed",
}


class Request:
    """A request to one of the plugin's HTTP routes, its body read. `path` is below the
    plugin's `/http`, with the query; `route` without it."""

    def __init__(self, method: str, path: str, headers: List[Tuple[str, bytes]], body: bytes):
        self.method = method
        self.path = path
        self.route = path.split("?", 1)[0]
        self.headers = headers
        self.body = body

    def header(self, name: str) -> Optional[str]:
        """The first value of a header (names compare case-insensitively), as text."""
        lowered = name.lower()
        return next((v.decode("utf-8", "replace") for k, v in self.headers if k.lower() == lowered), None)

    def viewer(self) -> Optional[str]:
        """Who is calling (`user:default/ada`), set by the host; None when anonymous."""
        return self.header("x-greenroom-viewer") or None

    def json(self):
        return json.loads(self.body)


class Reply:
    """What a route answers."""

    def __init__(self, status: int, body: bytes = b"", content_type: Optional[str] = None):
        self.status = status
        self.body = body
        self.headers = [("content-type", content_type.encode())] if content_type else []

    @staticmethod
    def text(status: int, text: str) -> "Reply":
        return Reply(status, text.encode(), "text/plain; charset=utf-8")

    @staticmethod
    def json(status: int, value) -> "Reply":
        return Reply(status, json.dumps(value).encode(), "application/json")


_METHOD_NAMES = {
    http.Method_Get: "GET", http.Method_Head: "HEAD", http.Method_Post: "POST",
    http.Method_Put: "PUT", http.Method_Delete: "DELETE", http.Method_Patch: "PATCH",
    http.Method_Options: "OPTIONS",
}


def serve(request, response_out, handle) -> None:
    """Answers one request to the plugin's routes (call it from `IncomingHandler.handle`):
    reads the request whole, calls `handle(Request)` and writes the `Reply` it returns."""
    method = request.method()
    name = method.value if isinstance(method, http.Method_Other) else _METHOD_NAMES.get(type(method), "GET")
    headers = request.headers().entries()
    path = request.path_with_query() or "/"
    reply = handle(Request(name, path, headers, _read_all(request)))
    response = http.OutgoingResponse(http.Fields.from_list(reply.headers))
    response.set_status_code(reply.status)
    outgoing = response.body()
    http.ResponseOutparam.set(response_out, Ok(response))
    with outgoing.write() as stream:
        for start in range(0, len(reply.body), 4096):
            stream.blocking_write_and_flush(reply.body[start:start + 4096])
    http.OutgoingBody.finish(outgoing, None)


def _describe(error, timeout: Optional[float] = None) -> str:
    """What went wrong, in words: the host's own explanation when it gave one (a refused
    host), else the error code described."""
    name = type(error).__name__.split("_", 1)[-1]
    detail = getattr(error, "value", None)
    within = "before the call's deadline" if timeout is None else f"within {timeout:g} s"
    if name == "InternalError" and detail:
        return detail
    if name == "ConnectionTimeout":
        return f"no connection {within}"
    if name in ("ConnectionReadTimeout", "HttpResponseTimeout"):
        return f"no response {within}"
    if name in _PLAIN_WORDS:
        return _PLAIN_WORDS[name]
    return f"{name} ({detail})" if detail is not None else name
