"""What every response carries and every request URL must not: security headers, control bytes.

The CSP allows the app's own scripts, styles and images only (the browser libraries are
served from npm's files by the app, never a CDN); Plotly and Swagger UI set inline styles,
so styles may be inline, scripts never. Pages may not be framed (clickjacking of the review
buttons). A NUL or another control character in the path or the query string is refused
with 400 before any route runs: PostgreSQL refuses NUL in text, and no field of ours holds one.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.limits import send_error

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def control_character_problem(path: str, query_string: bytes) -> str | None:
    """Where the URL holds a control character (decoded), or None."""
    if _CONTROL.search(path):
        return "the URL path holds a control character"
    for pair in query_string.decode("latin-1").split("&"):
        name, _, value = pair.partition("=")
        if _CONTROL.search(unquote_plus(name)) or _CONTROL.search(unquote_plus(value)):
            return (
                f"query parameter {unquote_plus(name)[:40]!r}: control characters are not allowed"
            )
    return None


class RequestHygiene:
    """ASGI middleware: security headers on every response, control characters refused."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        problem = control_character_problem(scope["path"], scope.get("query_string", b""))
        if problem is not None:
            await send_error(with_headers, 400, problem)
            return
        await self.app(scope, receive, with_headers)
