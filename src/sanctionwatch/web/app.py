"""The local web app: ``create_app(project_dir)`` returns a FastAPI app serving the JSON API
(:mod:`sanctionwatch.web.api`) and the static UI (``web/static``: plain JS and the bundled Leaflet).

Security model (see docs/web.md):

* bound to 127.0.0.1 by default (``sanctionwatch serve``); a Host header check (``allowed_hosts``)
  stops DNS-rebinding pages from reading the API through the browser;
* with a ``token``, every request (API and static) must carry it: ``Authorization: Bearer <token>``,
  or ``?token=<token>`` once, which sets an HttpOnly SameSite=Strict cookie and redirects to the same
  page without the token in the address; comparisons are constant-time (``hmac.compare_digest``);
* every answer carries a Content-Security-Policy that allows nothing but the app itself
  (``default-src 'self'``): no CDN, no tile server, no inline script;
* static files are served by a handler that refuses anything outside the static folder (``..``,
  encoded or not, absolute paths, hidden files, symlinks pointing out) with 404;
* the project is opened read-only; the API has no endpoint that writes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from sanctionwatch import __version__
from sanctionwatch.web.api import WebState, router

__all__ = ["COOKIE_NAME", "CSP", "STATIC_DIR", "create_app"]

log = logging.getLogger("sanctionwatch.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"
COOKIE_NAME = "sanctionwatch_session"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml",
          ".json": "application/json", ".txt": "text/plain; charset=utf-8"}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _session_value(token: str) -> str:
    """What the cookie holds: derived from the token, so the cookie never contains the token itself."""
    return hmac.new(token.encode(), b"sanctionwatch web session", hashlib.sha256).hexdigest()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def _host_name(host: str) -> str:
    """'127.0.0.1:8765' -> '127.0.0.1'; '[::1]:8765' -> '::1'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """ASGI middleware: Host check, token check and the security headers on every answer."""

    def __init__(self, app: ASGIApp, token: str | None, allowed_hosts: Sequence[str] | None) -> None:
        self.app = app
        self.token = token
        self.session = _session_value(token) if token else None
        self.allowed = {_host_name(h) for h in allowed_hosts} if allowed_hosts is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        extra: list[tuple[bytes, bytes]] = []

        api = scope["path"].startswith("/api/")

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = [*message.get("headers", []), *_SECURITY_HEADERS, *extra]
                if api and not any(k.lower() == b"cache-control" for k, _ in out):
                    out.append((b"cache-control", b"no-store"))
                message["headers"] = out
            await send(message)

        if self.allowed is not None:
            host = _host_name(headers.get(b"host", b"").decode("latin-1"))
            if host not in self.allowed:
                await _plain(send_secured, 400, {"error": "unexpected Host header; open the app at the address "
                                                 "`sanctionwatch serve` printed"})
                return
        if self.token is not None:
            verdict = self._check(scope, headers)
            if verdict == "deny":
                await _plain(send_secured, 401, {"error": "authentication required: open the URL with ?token= "
                                                 "that `sanctionwatch serve` printed, or send "
                                                 "'Authorization: Bearer <token>'"},
                             [(b"www-authenticate", b'Bearer realm="sanctionwatch"')])
                return
            if verdict == "query":
                cookie = (f"{COOKIE_NAME}={self.session}; HttpOnly; SameSite=Strict; Path=/").encode()
                extra.append((b"set-cookie", cookie))
                if not api and scope.get("method") in ("GET", "HEAD"):
                    await _plain(send_secured, 303, None, [(b"location", _without_token(scope).encode())])
                    return
        await self.app(scope, receive, send_secured)

    def _check(self, scope: Scope, headers: dict[bytes, bytes]) -> str:
        assert self.token is not None and self.session is not None
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth[:7].lower() == "bearer " and _same(auth[7:].strip(), self.token):
            return "header"
        raw_cookie = headers.get(b"cookie", b"").decode("latin-1")
        if raw_cookie:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(raw_cookie)
            except CookieError:
                jar = SimpleCookie()
            if COOKIE_NAME in jar and _same(jar[COOKIE_NAME].value, self.session):
                return "cookie"
        for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
            if key == "token" and _same(value, self.token):
                return "query"
        return "deny"


def _without_token(scope: Scope) -> str:
    """The request's own path and query minus ``token``: a same-site relative redirect target."""
    raw = scope.get("raw_path") or scope["path"].encode()
    path = "/" + raw.decode("latin-1").lstrip("/")  # never '//host': no open redirect
    query = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
             if k != "token"]
    return path + ("?" + urlencode(query) if query else "")


async def _plain(send: Send, status: int, body: dict[str, str] | None,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
    import json

    data = json.dumps(body).encode() if body is not None else b""
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
        (b"cache-control", b"no-store"), *(headers or [])]})
    await send({"type": "http.response.body", "body": data})


def _static_path(static_dir: Path, rel: str) -> Path | None:
    """The file under ``static_dir`` that ``rel`` names, or None for anything else (never outside it)."""
    if not rel or len(rel) > 300 or "\x00" in rel or "\\" in rel or rel.startswith("/") or ":" in rel:
        return None
    parts = rel.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") or "%" in p for p in parts):
        return None
    root = static_dir.resolve()
    try:
        real = (root / rel).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(root) or not real.is_file():
        return None
    return real


def _file(path: Path) -> Response:
    return FileResponse(path, media_type=_TYPES.get(path.suffix.lower(), "application/octet-stream"),
                        headers={"Cache-Control": "no-cache"})


def create_app(project_dir: Path | str, *, token: str | None = None, allowed_hosts: Sequence[str] | None = None,
               static_dir: Path | None = None) -> FastAPI:
    """The web app over the project in ``project_dir`` (opened read-only now: a ProjectError is raised
    here when it cannot be). ``token``: required on every request when set. ``allowed_hosts``: the Host
    names accepted (None: any; ``sanctionwatch serve`` passes the loopback names when bound to loopback).
    ``static_dir``: the UI folder (tests use their own)."""
    state = WebState(Path(project_dir))
    static = Path(static_dir) if static_dir is not None else STATIC_DIR

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="sanctionwatch", version=__version__, lifespan=lifespan,
        description="Read-only JSON API over one sanctionwatch project: findings with their evidence, vessels, "
        "tracks, watched areas and the basemap. Errors are JSON: {\"error\": \"...\"}; bad parameters give 400, "
        "unknown ids 404.",
        openapi_url="/api/openapi.json", docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
    )
    app.state.web = state
    app.state.internal_errors = 0
    app.include_router(router)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code,
                            headers={**(exc.headers or {}), "Cache-Control": "no-store"})

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path", "body"))
            problems.append(f"{where}: {e.get('msg', 'invalid value')}" if where else str(e.get("msg")))
        return JSONResponse({"error": "; ".join(problems) or "invalid request"}, status_code=400,
                            headers={"Cache-Control": "no-store"})

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        app.state.internal_errors += 1
        log.error("internal error answering %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal error: the server could not answer this request "
                             "(the details are in the server's log)"}, status_code=500)

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        page = _static_path(static, "index.html")
        if page is None:
            raise HTTPException(status_code=404, detail="the UI is not installed (web/static/index.html)")
        return _file(page)

    @app.get("/static/{rel:path}", include_in_schema=False)
    def static_file(rel: str) -> Response:
        found = _static_path(static, rel)
        if found is None:
            raise HTTPException(status_code=404, detail="not found")
        return _file(found)

    app.add_middleware(Guard, token=token, allowed_hosts=allowed_hosts)
    return app
