"""``pprl review``: clerical review in the browser, for a curator on this machine.

Serves the grey-band pairs of a run's review file (``WORK/review/RUN_ID.csv``), of a
``link-register`` review file or of a ``pprl link`` job's ``review.csv`` on a local page
(:mod:`pipeline.review.server`); each decision is saved as it is made to the decided file
(:mod:`pipeline.review.session`), which ``--decisions`` reads.
"""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.review.persons import review_file
from pipeline.review.server import ReviewServer, loopback_address
from pipeline.review.session import ReviewSession

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("review")
@click.argument("config_path", metavar="[CONFIG]", required=False, type=click.Path(path_type=Path))
@click.option("--run", "run_id", default=None, help="Review this run's file (default: the newest).")
@click.option(
    "--register-review",
    type=FILE,
    default=None,
    help="Review a link-register clerical_review.csv instead of a pipeline run's file.",
)
@click.option(
    "--link-review",
    type=FILE,
    default=None,
    help="Review a pprl link job's review.csv instead of a pipeline run's file.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Loopback address to listen on (127.0.0.1 or ::1); other addresses are refused.",
)
@click.option("--port", type=int, default=0, help="Port (default: any free port).")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default browser.")
def command(
    config_path: Path | None,
    run_id: str | None,
    register_review: Path | None,
    link_review: Path | None,
    host: str,
    port: int,
    open_browser: bool,
) -> None:
    """Review grey-band pairs in the browser: each pair side by side, differences marked, with
    its match-weight waterfall; keys M match, N non-match, U unsure, arrows to move, Z undo.

    The page is served on this machine only (127.0.0.1) at an address with a secret token;
    it shows names and identifiers. Every decision is saved at once to REVIEW/decided/NAME.csv
    beside the review file: pass that file to the next run with --decisions. Stop with the
    page's finish button or Ctrl+C; reopening resumes where you left off.

    \b
    Example:
        pprl review configs/demo.yaml
        pprl run configs/demo.yaml \\
            --decisions example-output/pipeline-demo-work/review/decided/run-1a2b.csv
        pprl review --register-review linked/review/clerical_review.csv
        pprl review --link-review example-output/link-demo/review.csv
    """
    target, rerun = _review_target(config_path, run_id, register_review, link_review, host)
    session = ReviewSession.open(target)
    progress = session.progress()
    if progress["pairs"] == 0:
        click.echo(f"{target.name}: no pairs to review")
        return
    if link_review is not None and not session.has_records():
        click.echo(
            f"{target.name} holds no record values: the page shows comparison levels and "
            "weights only (pprl link --review-records puts the records side by side)"
        )
    _serve(session, target, host, port, open_browser)
    done = session.progress()
    if not session.decided_file.exists():
        click.echo("no decisions made")
        return
    click.echo(
        f"{done['decided']} of {done['pairs']} pairs decided ({done['unsure']} unsure), saved in "
        f"{session.decided_file}\nApply them with: {rerun.format(session.decided_file)}"
    )


def _review_target(
    config_path: Path | None,
    run_id: str | None,
    register_review: Path | None,
    link_review: Path | None,
    host: str,
) -> tuple[Path, str]:
    """The review file to serve and the command (a format string for the decided file's
    path) that applies its decisions."""
    given = [x for x in (config_path, register_review, link_review) if x is not None]
    if len(given) != 1:
        raise click.UsageError(
            "give a CONFIG, --register-review FILE or --link-review FILE (one of them)"
        )
    loopback_address(host)  # refuse before reading any file
    if register_review is not None:
        return register_review, "pprl link-register ... --decisions {}"
    if link_review is not None:
        return link_review, "pprl link CONFIG --decisions {}"
    assert config_path is not None
    target = review_file(load_config(config_path).work_dir, run_id)
    return target, f"pprl run {config_path} --decisions {{}}"


def _serve(session: ReviewSession, target: Path, host: str, port: int, open_browser: bool) -> None:
    """Serve the review page until the curator finishes on it or presses Ctrl+C."""
    progress = session.progress()
    try:
        server = ReviewServer(session, host=host, port=port)
    except OSError as exc:
        raise ConfigError(f"--port {port}: cannot listen there ({exc.strerror})") from None
    click.echo(
        f"{target.name}: {progress['pairs']} pairs, {progress['decided']} decided.\n"
        f"Open {server.url}\n(this machine only; finish on the page or press Ctrl+C to stop)"
    )
    if open_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
