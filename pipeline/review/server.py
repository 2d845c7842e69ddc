"""The clerical-review web page: a local HTTP server for one curator on this machine.

It listens on the loopback interface only (:func:`loopback_address` refuses anything else),
and every request must carry the session's token, an unguessable ``secrets.token_urlsafe``
value, in its query string; a request without it, with a wrong one, or addressed to a host
name other than the loopback address (a DNS-rebinding page) gets 403. The page is one
self-contained HTML file with its script and style inline (no external assets), served with
a content security policy that forbids anything else; record values reach the page as JSON
and are inserted as text, never as markup.

Routes (all need ``?token=``): ``GET /`` the page; ``GET /api/pairs`` the pairs and progress;
``POST /api/decide`` ``{"index": i, "state": "match"|"non-match"|"unsure"|""}``;
``POST /api/undo``; ``GET /api/waterfall/<i>.svg``; ``POST /api/finish`` stops the server.
"""

from __future__ import annotations

import http.server
import ipaddress
import json
import logging
import re
import secrets
import socket
import threading
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pipeline.errors import ConfigError
from pipeline.review.session import ReviewSession

logger = logging.getLogger(__name__)

_WATERFALL = re.compile(r"^/api/waterfall/(\d+)\.svg$")
_MAX_BODY = 10_000


def loopback_address(host: str) -> str:
    """``host`` as a loopback IP address; :class:`ConfigError` for anything else, so the
    page is never reachable from another machine."""
    name = "127.0.0.1" if host == "localhost" else host
    try:
        if ipaddress.ip_address(name).is_loopback:
            return name
    except ValueError:
        pass
    raise ConfigError(
        "--host: the review page shows names and identifiers, so it listens on this "
        "machine's loopback address only (127.0.0.1 or ::1)"
    )


class ReviewServer(http.server.ThreadingHTTPServer):
    """Serves one :class:`ReviewSession` at :attr:`url` until :meth:`shutdown` or
    ``POST /api/finish``."""

    daemon_threads = True

    def __init__(self, session: ReviewSession, *, host: str = "127.0.0.1", port: int = 0) -> None:
        address = loopback_address(host)
        self.address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.session = session
        self.token = secrets.token_urlsafe(32)
        self.finished = threading.Event()
        super().__init__((address, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        host = str(self.server_address[0])
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/?token={self.token}"

    def allowed_hosts(self) -> set[str]:
        host = str(self.server_address[0])
        names = {f"[{host}]" if ":" in host else host}
        if host == "127.0.0.1":
            names.add("localhost")
        return {f"{n}:{self.port}" for n in names}


class _Handler(http.server.BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "pprl-review"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        # the default logs the full request line, token included; log the method and path only
        logger.debug("review page: %s %s", self.command, urlsplit(self.path).path)

    # --- dispatch ----------------------------------------------------------------------------
    def do_GET(self) -> None:
        path = self._authorised_path()
        if path is None:
            return
        if path == "/":
            nonce = secrets.token_urlsafe(16)
            self._send(200, "text/html; charset=utf-8", _page(nonce), nonce=nonce)
        elif path == "/api/pairs":
            self._json(200, self.server.session.view())
        elif (found := _WATERFALL.match(path)) is not None:
            self._waterfall(int(found.group(1)))
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        path = self._authorised_path()
        if path is None:
            return
        body = self._body()
        if body is None:
            return
        session = self.server.session
        if path == "/api/decide":
            try:
                session.decide(int(body["index"]), str(body["state"]))
            except (KeyError, ValueError, IndexError, TypeError):
                self._json(400, {"error": "need index and state"})
                return
            self._json(200, {"states": session.states, "progress": session.progress()})
        elif path == "/api/undo":
            index = session.undo()
            self._json(200, {"index": index, "states": session.states, **_progress(session)})
        elif path == "/api/finish":
            self._json(200, _progress(session))
            self.server.finished.set()
            threading.Thread(target=self.server.shutdown, daemon=True).start()
        else:
            self._json(404, {"error": "not found"})

    # --- checks ------------------------------------------------------------------------------
    def _authorised_path(self) -> str | None:
        """The request's path if it carries the token and names our host, else None (403)."""
        parts = urlsplit(self.path)
        given = parse_qs(parts.query).get("token", [""])[0]
        host_ok = self.headers.get("Host", "") in self.server.allowed_hosts()
        if not host_ok or not secrets.compare_digest(given.encode(), self.server.token.encode()):
            self._send(
                403, "text/plain; charset=utf-8", b"forbidden: open the address pprl printed"
            )
            return None
        return parts.path

    def _body(self) -> dict[str, Any] | None:
        if self.headers.get_content_type() != "application/json":
            self._json(415, {"error": "send application/json"})
            return None
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self._json(413, {"error": "request too large"})
            return None
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._json(400, {"error": "send a JSON object"})
            return None
        return body

    # --- responses ---------------------------------------------------------------------------
    def _waterfall(self, index: int) -> None:
        from pipeline.charts import waterfall_svg

        try:
            steps = self.server.session.waterfall(index)
        except IndexError:
            self._json(404, {"error": "no such pair"})
            return
        if steps.height == 0:
            self._json(404, {"error": "this review file has no weights"})
            return
        self._send(200, "image/svg+xml", waterfall_svg(steps).encode("utf-8"))

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, "application/json", json.dumps(payload).encode("utf-8"))

    def _send(self, status: int, content_type: str, body: bytes, *, nonce: str = "") -> None:
        """``body`` with headers that keep it out of caches, frames and other origins; only
        scripts and styles carrying ``nonce`` may run (none when it is empty)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")  # the page shows identifying data
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        inline = f"'nonce-{nonce}'" if nonce else "'none'"
        self.send_header(
            "Content-Security-Policy",
            f"default-src 'none'; script-src {inline}; style-src {inline}; "
            "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'",
        )
        self.end_headers()
        self.wfile.write(body)


def _progress(session: ReviewSession) -> dict[str, Any]:
    return {"progress": session.progress()}


def _page(nonce: str) -> bytes:
    """The page, its inline script and style marked with this response's ``nonce``."""
    template = resources.files("pipeline.review").joinpath("page.html").read_text("utf-8")
    return template.replace("{{NONCE}}", nonce).encode("utf-8")
