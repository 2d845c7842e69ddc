"""The clerical-review server (pipeline/review/server.py) and ``pprl review``: loopback only,
the token on every request, decisions through the API, the command end to end."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from click.testing import CliRunner

from pipeline.commands.review import command as review_command
from pipeline.errors import ConfigError
from pipeline.review import read_decisions
from pipeline.review.server import ReviewServer, loopback_address
from pipeline.review.session import ReviewSession
from tests.pipeline.review.review_support import (
    LINK_ROWS,
    link_review_file,
    person_review_file,
    register_review_file,
    request,
    serving,
)


def _other_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses (a UDP connect sends nothing)."""
    found = set()
    for target in ("192.0.2.1", "10.255.255.255"):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect((target, 9))
            found.add(probe.getsockname()[0])
        except OSError:
            pass
        finally:
            probe.close()
    return sorted(a for a in found if not a.startswith("127."))


def _refused(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_requests_without_the_right_token_or_host_are_refused(tmp_path: Path) -> None:
    with serving(ReviewSession.open(person_review_file(tmp_path))) as server:
        assert len(server.token) >= 40  # token_urlsafe(32)
        assert request(server, "GET", "/")[0] == 200
        for path in ("/", "/api/pairs", "/api/waterfall/0.svg", "/favicon.ico"):
            assert request(server, "GET", path, token="")[0] == 403, path
            assert request(server, "GET", path, token=server.token[:-1] + "x")[0] == 403, path
        status, body = request(
            server, "POST", "/api/decide", token="", body={"index": 0, "state": "match"}
        )
        assert status == 403 and b"SOUTHWORTH" not in body
        # a page on another site that resolves its own name to 127.0.0.1 (DNS rebinding)
        assert request(server, "GET", "/api/pairs", host=f"evil.example:{server.port}")[0] == 403
        assert request(server, "GET", "/api/pairs", host=f"localhost:{server.port}")[0] == 200
    assert not server.session.decided_file.exists()


def test_the_server_listens_on_loopback_only(tmp_path: Path) -> None:
    with serving(ReviewSession.open(person_review_file(tmp_path))) as server:
        assert server.socket.getsockname()[0] == "127.0.0.1"
        others = _other_addresses()
        for address in others:
            assert _refused(address, server.port), address
    # the probe can tell: a socket on every interface is reachable at those addresses
    wide = socket.create_server(("0.0.0.0", 0))
    try:
        for address in others:
            assert not _refused(address, wide.getsockname()[1])
    finally:
        wide.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.2", "::", "example.org", ""])
def test_other_bind_addresses_are_refused(host: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="loopback"):
        loopback_address(host)
    with pytest.raises(ConfigError):
        ReviewServer(ReviewSession.open(person_review_file(tmp_path)), host=host)


def test_loopback_names_are_accepted() -> None:
    assert loopback_address("localhost") == "127.0.0.1"
    assert loopback_address("127.0.0.1") == "127.0.0.1"
    assert loopback_address("::1") == "::1"


def test_decide_undo_and_waterfall_through_the_api(tmp_path: Path) -> None:
    with serving(ReviewSession.open(person_review_file(tmp_path))) as server:
        status, body = request(server, "POST", "/api/decide", body={"index": 1, "state": "match"})
        assert status == 200 and json.loads(body)["progress"]["decided"] == 1
        assert request(server, "POST", "/api/decide", body={"index": 9, "state": "match"})[0] == 400
        assert request(server, "POST", "/api/decide", body={"index": 0, "state": "yes"})[0] == 400
        status, body = request(server, "POST", "/api/undo", body={})
        assert json.loads(body)["index"] == 1
        status, svg = request(server, "GET", "/api/waterfall/0.svg")
        assert status == 200 and svg.startswith(b"<svg") and b"+11.50" in svg
        assert request(server, "GET", "/api/waterfall/7.svg")[0] == 404
        status, page = request(server, "GET", "/")
        assert b"<script nonce=" in page and b"src=" not in page
    assert read_decisions(server.session.decided_file).height == 0


def _config(tmp_path: Path) -> Path:
    """A config whose work folder holds a run's review file (only the work folder is read)."""
    doc = {
        "project": "p",
        "environment": "e",
        "sources": [{"name": "h", "path": "in.csv", "columns": {"nhs": "identifier:nhs"}}],
        "keystore": {"path": "keys"},
        "delivery": {"path": "out", "work_dir": "work"},
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(doc))
    person_review_file(tmp_path / "work")
    return path


def _browse_and_finish(decisions: list[tuple[int, str]]) -> Callable[[str], bool]:
    """Stands in for webbrowser.open: makes ``decisions`` through the API, then finishes."""

    def open_page(url: str) -> bool:
        parts = urlsplit(url)
        token = parse_qs(parts.query)["token"][0]
        port = parts.port or 0

        def browse() -> None:
            page = _Page(port, token)
            for index, state in decisions:
                request(page, "POST", "/api/decide", body={"index": index, "state": state})
            request(page, "POST", "/api/finish", body={})

        threading.Thread(target=browse, daemon=True).start()
        return True

    return open_page


@dataclass(frozen=True)
class _Page:
    port: int
    token: str


def test_pprl_review_serves_a_runs_review_file_until_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path)
    monkeypatch.setattr("webbrowser.open", _browse_and_finish([(0, "match"), (2, "non-match")]))
    result = CliRunner().invoke(review_command, [str(config), "--open"])
    assert result.exit_code == 0, result.output
    decided = tmp_path / "work" / "review" / "decided" / "run-0123456789abcdef.csv"
    assert "http://127.0.0.1:" in result.output and "?token=" in result.output
    assert f"Apply them with: pprl run {config} --decisions {decided}" in result.output
    assert read_decisions(decided).height == 2


def test_pprl_review_of_a_register_review_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = register_review_file(tmp_path)
    monkeypatch.setattr("webbrowser.open", _browse_and_finish([(2, "match")]))
    result = CliRunner().invoke(review_command, ["--register-review", str(path), "--open"])
    assert result.exit_code == 0, result.output
    assert read_decisions(path.parent / "decided" / path.name).rows() == [("s2", "tokC", "match")]
    assert "pprl link-register ... --decisions" in result.output


@pytest.mark.parametrize("records", [True, False])
def test_pprl_review_of_a_link_jobs_review_file(
    records: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = link_review_file(tmp_path, records=records)
    monkeypatch.setattr("webbrowser.open", _browse_and_finish([(0, "match")]))
    result = CliRunner().invoke(review_command, ["--link-review", str(path), "--open"])
    assert result.exit_code == 0, result.output
    decided = path.parent / "decided" / "review.csv"
    assert read_decisions(decided).rows() == [
        (LINK_ROWS[0]["key"], LINK_ROWS[0]["candidate"], "match")
    ]
    assert f"Apply them with: pprl link CONFIG --decisions {decided}" in result.output
    # a file written without --review-records says how to get the records on the page
    assert ("--review-records" in result.output) is not records
    assert "MARGARET" not in result.output


def test_pprl_review_refuses_a_non_loopback_host_and_needs_one_source(tmp_path: Path) -> None:
    config = _config(tmp_path)
    result = CliRunner().invoke(review_command, [str(config), "--host", "0.0.0.0"])
    assert result.exit_code != 0 and isinstance(result.exception, ConfigError)
    result = CliRunner().invoke(review_command, [])
    assert result.exit_code == 2 and "one of them" in result.output
    link = link_review_file(tmp_path, records=True)
    result = CliRunner().invoke(review_command, [str(config), "--link-review", str(link)])
    assert result.exit_code == 2 and "one of them" in result.output
    result = CliRunner().invoke(review_command, ["--link-review", str(tmp_path / "absent.csv")])
    assert result.exit_code == 2 and "does not exist" in result.output
