"""A local stand-in for Twilio's REST API that checks every request against Twilio's OpenAPI.

``TwilioFake`` is a real HTTP server on 127.0.0.1 (a free port, a background thread). It
answers the four operations AHA Desk uses, with bodies built from the OpenAPI's own
examples so the ``twilio`` SDK builds its objects as it would from Twilio:

- ``CreateCall`` and ``CreateMessage`` (``/2010-04-01/Accounts/{AccountSid}/...``): 201,
  status ``queued``;
- ``CreateVerification`` (``/v2/Services/{ServiceSid}/Verifications``): 201, status
  ``pending``; the code it "sent" is in ``fake.codes[to]`` / ``fake.last_code(to)``;
- ``CreateVerificationCheck`` (``/v2/Services/{ServiceSid}/VerificationCheck``): 200,
  ``approved`` when the code is right, else ``pending``; 404 when there is no pending
  verification.

Before answering, each request is checked against Twilio's published OpenAPI descriptions
(``twilio_api_v2010.json``, ``twilio_verify_v2.json``): the path and method name an
operation, HTTP Basic auth carries the account, the form body has every required property,
no unknown one, and values of the right type, format, pattern and enum. A few rules the
descriptions state only in prose (``StatusCallbackEvent`` "Can be: `initiated`, ...") are
checked too; see ``PROSE_ENUMS``. Whatever fails is appended to ``fake.violations`` and
answered with a Twilio-like error, so the adapter sees what Twilio would have refused.

Tests script the bad days with ``fail_next``, ``delay_next`` and ``reject_number``; the
``twilio_fake`` fixture points the settings at a fake and, at teardown, asserts that no
request the test made broke the OpenAPI.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

# Twilio's OpenAPI files (twilio/twilio-oai); TWILIO_OAI_DIR points elsewhere if they move.
OAI_DIR = Path(os.environ.get("TWILIO_OAI_DIR", Path(__file__).parent / "twilio_oai"))
OAI_FILES = ("twilio_api_v2010.json", "twilio_verify_v2.json")

# Constraints the descriptions give in prose instead of an ``enum``. Each value must appear,
# in backticks, in the property's description: loading fails if Twilio's text changes.
PROSE_ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("CreateCall", "StatusCallbackEvent"): ("initiated", "ringing", "answered", "completed"),
    ("CreateCall", "MachineDetection"): ("Enable", "DetectMessageEnd"),
    ("CreateCall", "RecordingChannels"): ("mono", "dual"),
    ("CreateCall", "Trim"): ("trim-silence", "do-not-trim"),
    ("CreateVerification", "Channel"): ("email", "sms", "whatsapp", "call", "sna", "auto"),
}
# "Either this parameter or the `verification_sid` must be specified" (VerificationCheck.To).
PROSE_ONE_OF: dict[str, tuple[str, ...]] = {
    "CreateVerificationCheck": ("To", "VerificationSid"),
}

# Twilio error codes the fake answers with (https://www.twilio.com/docs/errors/<code>).
CODE_AUTHENTICATE = 20003
CODE_NOT_FOUND = 20404
CODE_METHOD_NOT_ALLOWED = 20004
CODE_INVALID_REQUEST = 21000  # the fake's own: "does not match Twilio's OpenAPI"
CODE_INVALID_TO_NUMBER = 21211
CODE_VERIFY_INVALID_PARAMETER = 60200
CODE_VERIFY_MAX_CHECK_ATTEMPTS = 60202
CODES_BY_STATUS = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}
# Verify allows five checks of one verification; the sixth is refused.
MAX_CHECK_ATTEMPTS = 5

SERVED_OPERATIONS = ("CreateCall", "CreateMessage", "CreateVerification", "CreateVerificationCheck")
FORM = "application/x-www-form-urlencoded"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


# --- Twilio's OpenAPI ---------------------------------------------------------------------


@dataclass(eq=False)
class Operation:
    """One operation of the OpenAPI, with what checking a request needs."""

    operation_id: str
    method: str
    template: str
    document: dict[str, Any]
    spec: dict[str, Any]

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return {(p["in"], p["name"]): p for p in self.spec.get("parameters", [])}

    @property
    def form_schema(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        return content.get(FORM, {}).get("schema")

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            node: Any = self.document
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def response_schema(self, status: int) -> dict[str, Any] | None:
        answer = self.spec.get("responses", {}).get(str(status))
        if answer is None:
            return None
        return self.resolve(answer["content"]["application/json"]["schema"])

    def example(self, status: int) -> dict[str, Any]:
        examples = self.spec["responses"][str(status)]["content"]["application/json"]["examples"]
        return next(iter(examples.values()))["value"]


@dataclass
class Check:
    """What checking one request found."""

    operation: Operation | None
    path_params: dict[str, str]
    violations: list[str]
    status: int = 400
    code: int = CODE_INVALID_REQUEST


class TwilioOpenAPI:
    """Twilio's OpenAPI descriptions, indexed by path template and method."""

    def __init__(self, directory: Path = OAI_DIR) -> None:
        self.paths: list[tuple[str, re.Pattern[str], dict[str, Operation]]] = []
        self.operations: dict[str, Operation] = {}
        for name in OAI_FILES:
            document = json.loads((directory / name).read_text())
            for template, item in document["paths"].items():
                methods = {
                    method: Operation(op["operationId"], method.upper(), template, document, op)
                    for method, op in item.items()
                    if method in HTTP_METHODS
                }
                self.paths.append((template, _template_pattern(template), methods))
                self.operations.update({op.operation_id: op for op in methods.values()})
        # The most literal template first: /Services/{Sid}/VerificationCheck before /{Sid}/...
        self.paths.sort(key=lambda entry: -len(re.sub(r"\{[^}]+\}", "", entry[0])))
        self._check_prose_rules()

    def _check_prose_rules(self) -> None:
        for (operation_id, name), values in PROSE_ENUMS.items():
            schema = self.operations[operation_id].form_schema or {}
            description = schema.get("properties", {}).get(name, {}).get("description", "")
            missing = [value for value in values if f"`{value}`" not in description]
            if missing:
                raise RuntimeError(
                    f"Twilio's OpenAPI no longer lists {missing} for {operation_id}.{name}: "
                    f"update PROSE_ENUMS in {__file__}"
                )

    def match(self, path: str) -> tuple[dict[str, Operation], dict[str, str]] | None:
        for _template, pattern, methods in self.paths:
            found = pattern.fullmatch(path)
            if found:
                return methods, found.groupdict()
        return None

    def check(
        self,
        *,
        method: str,
        path: str,
        query: dict[str, list[str]],
        content_type: str,
        params: dict[str, list[str]],
        authorization: str | None,
        account_sid: str,
        auth_token: str,
    ) -> Check:
        """Checks one request against the operation its path and method name."""
        matched = self.match(path)
        if matched is None:
            return Check(
                None,
                {},
                [f"{method} {path}: no operation in Twilio's OpenAPI has this path"],
                404,
                CODE_NOT_FOUND,
            )
        methods, path_params = matched
        operation = methods.get(method.lower())
        if operation is None:
            allowed = ", ".join(sorted(op.method for op in methods.values()))
            return Check(
                None,
                path_params,
                [f"{method} {path}: the path takes only {allowed}"],
                405,
                CODE_METHOD_NOT_ALLOWED,
            )
        name = operation.operation_id
        auth_problem = _auth_problem(authorization, account_sid, auth_token, path_params)
        if auth_problem:
            return Check(
                operation, path_params, [f"{name}: {auth_problem}"], 401, CODE_AUTHENTICATE
            )

        violations = [
            f"{name}: {problem}"
            for problem in _parameter_problems(operation, path_params, query)
            + _body_problems(operation, content_type, params)
        ]
        return Check(operation, path_params, violations)


def _parameter_problems(
    operation: Operation, path_params: dict[str, str], query: dict[str, list[str]]
) -> list[str]:
    parameters = operation.parameters
    problems = [
        f"path parameter {name!r}: {problem}"
        for (where, name), parameter in parameters.items()
        if where == "path"
        for problem in _value_problems(
            operation, parameter.get("schema", {}), path_params.get(name, "")
        )
    ]
    for key, values in query.items():
        parameter = parameters.get(("query", key))
        if parameter is None:
            problems.append(f"query parameter {key!r}: not in the operation")
            continue
        problems += [
            f"query parameter {key!r}: {problem}"
            for value in values
            for problem in _value_problems(operation, parameter.get("schema", {}), value)
        ]
    return problems


def _body_problems(
    operation: Operation, content_type: str, params: dict[str, list[str]]
) -> list[str]:
    if operation.form_schema is None:
        return ["the operation takes no request body"] if params else []
    problems = []
    if params and content_type != FORM:
        problems.append(f"the body is {content_type or 'untyped'}, not {FORM}")
    return problems + _form_problems(operation, params)


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{([^}]+)\}", template)
    regex = "".join(
        f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile(regex)


def _auth_problem(
    authorization: str | None, account_sid: str, auth_token: str, path_params: dict[str, str]
) -> str | None:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return "no HTTP Basic Authorization header (the OpenAPI's accountSid_authToken)"
    try:
        username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "the Basic Authorization header does not decode"
    if username != account_sid:
        return f"Basic auth names account {username!r}, not {account_sid!r}"
    if password != auth_token:
        return "Basic auth carries the wrong auth token"
    if path_params.get("AccountSid", account_sid) != account_sid:
        return f"the path names account {path_params['AccountSid']!r}, not {account_sid!r}"
    return None


def _form_problems(operation: Operation, params: dict[str, list[str]]) -> list[str]:
    schema = operation.resolve(operation.form_schema or {})
    properties = schema.get("properties", {})
    problems = []
    for required in schema.get("required", []):
        if not any(value.strip() for value in params.get(required, [])):
            problems.append(f"parameter {required!r}: required but missing")
    one_of = PROSE_ONE_OF.get(operation.operation_id)
    if one_of and not any(params.get(name) for name in one_of):
        problems.append(f"parameters {' or '.join(one_of)}: one of them is required")
    for key, values in params.items():
        if key not in properties:
            problems.append(f"parameter {key!r}: not in the operation")
            continue
        prop = operation.resolve(properties[key])
        allowed = PROSE_ENUMS.get((operation.operation_id, key))
        if prop.get("type") == "array":
            item_schema = operation.resolve(prop.get("items", {}))
        else:
            item_schema = prop
            if len(values) > 1:
                problems.append(f"parameter {key!r}: given {len(values)} times, not an array")
        for value in values:
            problems += [
                f"parameter {key!r}: {problem}"
                for problem in _value_problems(operation, item_schema, value)
            ]
            if allowed and value not in allowed:
                problems.append(f"parameter {key!r}: {value!r} is not one of {list(allowed)}")
    return problems


def _value_problems(operation: Operation, schema: dict[str, Any], value: str) -> list[str]:
    """What is wrong with one form value (always a string on the wire) for ``schema``."""
    schema = operation.resolve(schema)
    if "enum" in schema and value not in schema["enum"]:
        return [f"{value!r} is not one of {schema['enum']}"]
    kind = schema.get("type")
    if kind == "string":
        return _string_problems(schema, value)
    if kind == "integer" and not re.fullmatch(r"-?\d+", value):
        return [f"{value!r} is not an integer"]
    if kind == "number" and not re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", value):
        return [f"{value!r} is not a number"]
    if kind == "boolean" and value.lower() not in {"true", "false"}:
        return [f"{value!r} is not a boolean (true or false)"]
    return []


def _string_problems(schema: dict[str, Any], value: str) -> list[str]:
    problems = []
    if len(value) < schema.get("minLength", 0):
        problems.append(f"{value!r} is shorter than {schema['minLength']} characters")
    if len(value) > schema.get("maxLength", len(value)):
        problems.append(f"{value!r} is longer than {schema['maxLength']} characters")
    if not re.search(schema.get("pattern", ""), value):
        problems.append(f"{value!r} does not match {schema['pattern']}")
    form = None if schema.get("x-twilio", {}).get("ignoreFormat") else schema.get("format")
    parts = urlsplit(value)
    if form == "uri" and (parts.scheme not in {"http", "https"} or not parts.netloc):
        problems.append(f"{value!r} is not an absolute http(s) URL")
    if form == "date-time" and not _is_iso_datetime(value):
        problems.append(f"{value!r} is not an ISO 8601 date-time")
    # Only a number written with + must be E.164; short codes and "whatsapp:..." pass.
    if form == "phone-number" and not re.fullmatch(r"\+[1-9]\d{1,14}|[^+].*", value):
        problems.append(f"{value!r} is not an E.164 phone number")
    return problems


def _is_iso_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def response_problems(operation: Operation, status: int, body: dict[str, Any]) -> list[str]:
    """Where a response body departs from the operation's response schema (for the fake's
    own tests: what the SDK reads must be shaped as Twilio's)."""
    schema = operation.response_schema(status)
    if schema is None:
        return [f"{operation.operation_id} declares no {status} response"]
    problems = []
    types = {
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "array": list,
        "object": dict,
    }
    for name, declared in schema.get("properties", {}).items():
        prop = operation.resolve(declared)
        if name not in body:
            problems.append(f"{name}: missing")
            continue
        value = body[name]
        if value is None:
            if not prop.get("nullable"):
                problems.append(f"{name}: null but not nullable")
            continue
        expected = types.get(prop.get("type", ""))
        if expected and not isinstance(value, expected):
            problems.append(f"{name}: {value!r} is not {prop['type']}")
        elif isinstance(value, str):
            problems += [f"{name}: {p}" for p in _value_problems(operation, prop, value)]
    return problems + [f"{name}: not in the schema" for name in body.keys() - schema["properties"]]


@cache
def openapi() -> TwilioOpenAPI:
    """Twilio's OpenAPI, read once per test run (the files are large)."""
    return TwilioOpenAPI()


# --- The fake -----------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request the fake received, as it arrived."""

    method: str
    path: str
    operation_id: str | None
    params: dict[str, list[str]]
    headers: dict[str, str]
    status: int = 0  # what the fake answered

    def value(self, name: str) -> str | None:
        """The single value of a form parameter (None when absent)."""
        values = self.params.get(name, [])
        return values[0] if values else None


@dataclass
class Verification:
    """A verification the fake started: the code it would have sent, and its state."""

    sid: str
    service_sid: str
    to: str
    channel: str
    code: str
    status: str = "pending"
    checks: int = 0
    sends: list[dict[str, Any]] = field(default_factory=list)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class _Scripted:
    operation: str | None
    times: int
    status: int = 0
    code: int = 0
    message: str = ""
    seconds: float = 0.0
    body: dict[str, Any] | None = None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _dispatch(self) -> None:
        self.server.fake._handle(self)

    # http.server dispatches on do_<METHOD>.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch  # noqa: N815

    def log_message(self, *args: object) -> None:
        """Quiet: the fake keeps ``fake.requests`` instead of a log."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: TwilioFake


class TwilioFake:
    """A local Twilio that checks requests against the OpenAPI; see the module docstring."""

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        verify_service_sid: str | None = None,
    ) -> None:
        self.account_sid = account_sid or f"AC{secrets.token_hex(16)}"
        self.auth_token = auth_token or secrets.token_hex(16)
        self.verify_service_sid = verify_service_sid or f"VA{secrets.token_hex(16)}"
        self.openapi = openapi()
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.verifications: dict[str, Verification] = {}
        self.codes: dict[str, str] = {}
        self._failures: list[_Scripted] = []
        self._delays: list[_Scripted] = []
        self._rejected: dict[str, _Scripted] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Twilio fake is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> TwilioFake:
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="twilio-fake",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving; answers still held back by ``delay_next`` are let go at once."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> TwilioFake:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- scripting

    def fail_next(
        self,
        *,
        status: int = 500,
        times: int = 1,
        operation: str | None = None,
        code: int | None = None,
        message: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """The next ``times`` valid requests (to ``operation``, an operationId such as
        ``"CreateCall"``, or to any) are answered ``status`` with a Twilio error body
        (``{"code", "message", "more_info", "status"}``), or with ``body`` if given."""
        self._check_operation(operation)
        with self._lock:
            self._failures.append(
                _Scripted(
                    operation,
                    times,
                    status,
                    code or CODES_BY_STATUS.get(status, status * 100),
                    message or f"Scripted failure (HTTP {status})",
                    body=body,
                )
            )

    def delay_next(self, *, seconds: float, times: int = 1, operation: str | None = None) -> None:
        """The next ``times`` requests are served at once but answered ``seconds`` late, as
        a Twilio that placed the call and answered slowly: a client that gave up may retry
        and place a second one. ``stop()`` ends the wait."""
        self._check_operation(operation)
        with self._lock:
            self._delays.append(_Scripted(operation, times, seconds=seconds))

    def reject_number(self, number: str, *, code: int | None = None, message: str = "") -> None:
        """Requests with ``To=number`` are refused with 400, like Twilio refusing an invalid
        number: code 21211 for calls and messages, 60200 for Verify, unless ``code`` says."""
        with self._lock:
            self._rejected[number] = _Scripted(None, 0, 400, code or 0, message)

    def _check_operation(self, operation: str | None) -> None:
        if operation is not None and operation not in SERVED_OPERATIONS:
            raise ValueError(f"the fake serves {list(SERVED_OPERATIONS)}, not {operation!r}")

    # -- reading

    def last_code(self, to: str) -> str:
        """The code the fake last "sent" to ``to``."""
        with self._lock:
            if to not in self.codes:
                raise AssertionError(f"the Twilio fake sent no verification code to {to}")
            return self.codes[to]

    def requests_for(self, operation_id: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.operation_id == operation_id]

    # -- serving

    def _take(self, scripts: list[_Scripted], operation_id: str | None) -> _Scripted | None:
        for script in scripts:
            if script.operation in {None, operation_id}:
                script.times -= 1
                if script.times <= 0:
                    scripts.remove(script)
                return script
        return None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        decode_problem = None
        try:
            params = parse_qs(raw.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            params, decode_problem = {}, "the body is not UTF-8"
        check = self.openapi.check(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            content_type=(handler.headers.get("Content-Type") or "").split(";")[0].strip(),
            params=params,
            authorization=handler.headers.get("Authorization"),
            account_sid=self.account_sid,
            auth_token=self.auth_token,
        )
        if decode_problem:
            check.violations.append(f"{handler.command} {parts.path}: {decode_problem}")
        operation_id = check.operation.operation_id if check.operation else None
        recorded = RecordedRequest(
            handler.command, parts.path, operation_id, params, dict(handler.headers.items())
        )
        with self._lock:
            self.requests.append(recorded)
            self.violations.extend(check.violations)
            delay = self._take(self._delays, operation_id)
            if check.violations:
                status, body = _error(check.status, check.code, "; ".join(check.violations))
            elif failure := self._take(self._failures, operation_id):
                status, body = _error(failure.status, failure.code, failure.message)
                body = failure.body or body
            else:
                try:
                    status, body = self._serve(operation_id or "", check.path_params, params)
                except Exception as exc:  # a bug in the fake: fail the test, not the thread
                    self.violations.append(f"{operation_id}: the Twilio fake failed: {exc!r}")
                    status, body = _error(500, 20500, f"The Twilio fake failed: {exc!r}")
            recorded.status = status
        if delay:
            self._stopping.wait(delay.seconds)
        _answer(handler, status, body)

    def _serve(
        self, operation_id: str, path_params: dict[str, str], params: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        def one(name: str) -> str:
            return (params.get(name) or [""])[0]

        serve = {
            "CreateCall": self._create_call,
            "CreateMessage": self._create_message,
            "CreateVerification": self._create_verification,
            "CreateVerificationCheck": self._check_verification,
        }.get(operation_id)
        if serve is None:
            self.violations.append(
                f"{operation_id}: valid for Twilio, but the fake does not serve it; "
                f"add it to {__file__}"
            )
            return _error(404, CODE_NOT_FOUND, f"The Twilio fake does not serve {operation_id}")
        service_sid = path_params.get("ServiceSid", self.verify_service_sid)
        if service_sid != self.verify_service_sid:
            self.violations.append(
                f"{operation_id}: Verify service {service_sid!r} is not the fake's "
                f"({self.verify_service_sid!r}; the fixture sets TWILIO_VERIFY_SERVICE_SID)"
            )
            return _error(
                404, CODE_NOT_FOUND, f"The requested resource {service_sid} was not found"
            )
        rejected = self._rejected.get(one("To"))
        if rejected is not None:
            verify = operation_id.startswith("CreateVerification")
            code = rejected.code or (
                CODE_VERIFY_INVALID_PARAMETER if verify else CODE_INVALID_TO_NUMBER
            )
            message = rejected.message or (
                f"Invalid parameter `To`: {one('To')}"
                if verify
                else f"The 'To' number {one('To')} is not a valid phone number."
            )
            return _error(400, code, message)
        return serve(one, self.operations[operation_id])

    @property
    def operations(self) -> dict[str, Operation]:
        return self.openapi.operations

    def _from_example(
        self, operation: Operation, answer_status: int, sids: dict[str, str], /, **fields: Any
    ) -> dict[str, Any]:
        """The OpenAPI's example answer, with our SIDs in place of its ``XXaaaa...`` ones."""
        text = json.dumps(operation.example(answer_status))
        for prefix, sid in sids.items():
            text = text.replace(f"{prefix}{'a' * 32}", sid)
        return {**json.loads(text), **fields}

    def _create_call(self, one: Any, operation: Operation) -> tuple[int, dict[str, Any]]:
        sid = f"CA{secrets.token_hex(16)}"
        now = format_datetime(datetime.now(UTC))
        call = self._from_example(
            operation,
            201,
            {"AC": self.account_sid, "CA": sid},
            sid=sid,
            to=one("To"),
            to_formatted=one("To"),
            **{"from": one("From"), "from_formatted": one("From")},
            status="queued",
            direction="outbound-api",
            date_created=now,
            date_updated=now,
            start_time=None,
            end_time=None,
            duration=None,
            price=None,
            answered_by=None,
            forwarded_from=None,
            caller_name=None,
            queue_time="0",
            phone_number_sid=None,
        )
        self.calls.append(call)
        return 201, call

    def _create_message(self, one: Any, operation: Operation) -> tuple[int, dict[str, Any]]:
        sid = f"SM{secrets.token_hex(16)}"
        now = format_datetime(datetime.now(UTC))
        message = self._from_example(
            operation,
            201,
            {"AC": self.account_sid, "SM": sid},
            sid=sid,
            to=one("To"),
            body=one("Body"),
            status="queued",
            direction="outbound-api",
            date_created=now,
            date_updated=now,
            date_sent=None,
            messaging_service_sid=one("MessagingServiceSid") or None,
            **{"from": one("From") or None},
        )
        self.messages.append(message)
        return 201, message

    def _create_verification(self, one: Any, operation: Operation) -> tuple[int, dict[str, Any]]:
        to, channel = one("To"), one("Channel")
        # Twilio sends the same code again while a verification to that number is pending.
        verification = next(
            (v for v in self.verifications.values() if v.to == to and v.status == "pending"),
            None,
        )
        if verification is None:
            verification = Verification(
                sid=f"VE{secrets.token_hex(16)}",
                service_sid=self.verify_service_sid,
                to=to,
                channel=channel,
                code=one("CustomCode") or f"{secrets.randbelow(1_000_000):06d}",
            )
            self.verifications[verification.sid] = verification
        verification.channel = channel
        verification.sends.append(
            {
                "time": _iso(datetime.now(UTC)),
                "channel": channel.upper(),
                "attempt_sid": f"VL{secrets.token_hex(16)}",
            }
        )
        self.codes[to] = verification.code
        return 201, self._verification_body(operation, 201, verification)

    def _check_verification(self, one: Any, operation: Operation) -> tuple[int, dict[str, Any]]:
        sid, to = one("VerificationSid"), one("To")
        if sid:
            verification = self.verifications.get(sid)
        else:
            verification = next(
                (v for v in self.verifications.values() if v.to == to and v.status == "pending"),
                None,
            )
        if (
            verification is None
            or verification.status != "pending"
            or (to and verification.to != to)
        ):
            # Twilio forgets a verification once it is approved, expired or cancelled.
            return _error(
                404,
                CODE_NOT_FOUND,
                f"The requested resource /Services/{self.verify_service_sid}/VerificationCheck "
                "was not found",
            )
        verification.checks += 1
        if verification.checks > MAX_CHECK_ATTEMPTS:
            verification.status = "max_attempts_reached"
            return _error(429, CODE_VERIFY_MAX_CHECK_ATTEMPTS, "Max check attempts reached")
        if secrets.compare_digest(one("Code"), verification.code):
            verification.status = "approved"
        return 200, self._verification_body(operation, 200, verification)

    def _verification_body(
        self, operation: Operation, status: int, verification: Verification
    ) -> dict[str, Any]:
        body = self._from_example(
            operation,
            status,
            {
                "AC": self.account_sid,
                "VA": verification.service_sid,
                "VE": verification.sid,
            },
            to=verification.to,
            channel=verification.channel,
            status=verification.status,
            valid=verification.status == "approved",
            date_created=_iso(verification.created),
            date_updated=_iso(datetime.now(UTC)),
        )
        if "send_code_attempts" in body:
            body["send_code_attempts"] = list(verification.sends)
        return body


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _answer(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Twilio-Request-Id", f"RQ{secrets.token_hex(16)}")
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (a timeout the test asked for)


# --- The fixture --------------------------------------------------------------------------


@pytest.fixture
def twilio_fake(settings: Any) -> Iterator[TwilioFake]:
    """A started ``TwilioFake`` the settings point at (``channels()`` is then Twilio's SDK).

    At teardown, fails the test if any request it made broke Twilio's OpenAPI.
    """
    fake = TwilioFake()
    fake.start()
    settings.NOTIFICATIONS_CHANNELS = "twilio"
    settings.TWILIO_ACCOUNT_SID = fake.account_sid
    settings.TWILIO_AUTH_TOKEN = fake.auth_token
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_VERIFY_SERVICE_SID = fake.verify_service_sid
    settings.TWILIO_API_BASE_URL = fake.url
    settings.TWILIO_TIMEOUT_SECONDS = 2
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.violations == [], "requests to Twilio that break its OpenAPI:\n" + "\n".join(
        fake.violations
    )
