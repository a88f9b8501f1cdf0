"""``sanctionwatch serve DIR``: the local web app over a project (FastAPI + uvicorn).

FastAPI and uvicorn are imported only when the command runs, so the rest of the command line
starts as fast as before.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Annotated

import typer

from sanctionwatch.clikit import Exit, ProjectArg, _fail, console

__all__ = ["LOOPBACK_NAMES", "MIN_TOKEN_LENGTH", "is_loopback", "serve"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
MIN_TOKEN_LENGTH = 16
TOKEN_ENV = "SANCTIONWATCH_TOKEN"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine (127.0.0.0/8, ::1, 'localhost')."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to any interface


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); OSError when the address is unusable or taken."""
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def serve(
    project_dir: ProjectArg,
    host: Annotated[str, typer.Option(help="Address to listen on. Anything but loopback (127.0.0.1, ::1, "
                                      "localhost) needs a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free port).")] = 8765,
    token: Annotated[str | None, typer.Option(
        help=f"Require this token on every request (at least {MIN_TOKEN_LENGTH} characters). Prefer the "
        f"environment variable {TOKEN_ENV}: a command-line argument is visible to other users of the machine.",
        envvar=TOKEN_ENV, show_envvar=True)] = None,
) -> None:
    """Serve the local web app: findings with filters, vessel pages (identity history, screening matches,
    track on a map with a time slider, events), area pages and search, over the project opened read-only.

    Listens on 127.0.0.1 only unless --host says otherwise; remote use needs a token, given once as
    `?token=` in the printed URL (the browser then keeps an HttpOnly cookie) or as
    `Authorization: Bearer <token>`. While the server runs, the project cannot be written
    (`ingest`, `run`... wait until it stops): DuckDB allows readers or one writer.
    """
    token = token or None
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise _fail(f"the token must be at least {MIN_TOKEN_LENGTH} characters long; generate one with "
                    "`python -c \"import secrets; print(secrets.token_urlsafe(32))\"`", Exit.USAGE)
    loopback = is_loopback(host)
    if not loopback and token is None:
        raise _fail(f"--host {host} accepts connections from other machines, so it needs a token: pass --token "
                    f"or set {TOKEN_ENV} (e.g. `export {TOKEN_ENV}=$(python -c \"import secrets; "
                    "print(secrets.token_urlsafe(32))\")`), or keep the default --host 127.0.0.1", Exit.USAGE)

    try:
        import uvicorn

        from sanctionwatch.web.app import create_app
    except ImportError as err:
        raise _fail(f"the web app needs FastAPI and uvicorn ({err}): pip install fastapi uvicorn", Exit.FAILED) from None
    from sanctionwatch.store import ProjectError

    try:
        app = create_app(project_dir, token=token,
                         allowed_hosts=LOOPBACK_NAMES if loopback and token is None else None)
    except ProjectError as err:
        raise _fail(str(err), Exit.PROJECT) from None
    try:
        sock = _listen(host, port)
    except OSError as err:
        app.state.web.close()
        raise _fail(f"cannot listen on {host}:{port}: {err.strerror or err}", Exit.FAILED) from None
    bound_port = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    url = f"http://{shown}:{bound_port}/" + (f"?token={token}" if token else "")
    console.print(f"Serving [bold]{app.state.web.project.path}[/] (read-only) at {url}", highlight=False,
                  soft_wrap=True)
    if not loopback:
        console.print("Reachable from other machines: the token is the only protection and travels in clear "
                      "over plain HTTP; use it on a trusted network or behind a TLS proxy.", highlight=False)
    console.print("Press Ctrl+C to stop.", highlight=False)
    config = uvicorn.Config(app, log_level=os.environ.get("SANCTIONWATCH_LOG_LEVEL", "warning"),
                            access_log=False, lifespan="on", server_header=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
