"""``pprl review``'s page in a real browser: Debian's Chromium (/usr/bin/chromium, installed by
.ci/run) driven by Playwright. Decide with the keyboard, undo, reload, and check the decided
file is what ``--decisions`` reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from pipeline.review import read_decisions
from pipeline.review.session import ReviewSession
from tests.pipeline.review.review_support import person_review_file, serving

CHROMIUM = "/usr/bin/chromium"
# no network of its own: no updates, sync, or first-run fetches while the tests run
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"these tests need Debian's chromium at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def _ready(page: Page) -> None:
    page.wait_for_selector("body[data-ready=yes]")


def test_decide_with_the_keyboard_undo_and_reload(page: Page, tmp_path: Path) -> None:
    path = person_review_file(tmp_path)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with serving(ReviewSession.open(path)) as server:
        # the page runs under its own content security policy: waits below use locators,
        # not page-side eval, which that policy forbids
        with page.expect_response(lambda r: "/api/waterfall/0.svg" in r.url) as waterfall:
            page.goto(server.url)
        _ready(page)
        assert waterfall.value.status == 200
        assert waterfall.value.headers["content-type"] == "image/svg+xml"
        box = page.locator("#waterfall").bounding_box()
        assert box is not None and box["height"] > 100  # drawn, not a broken image
        expect(page.locator("#position")).to_have_text("1 of 4")
        expect(page.locator("#progress")).to_have_text("0 of 4 decided")
        # side by side, the differing letter marked, identical values not
        surname = page.locator("#fields tbody tr", has_text="surname")
        assert surname.locator("mark").all_inner_texts() == ["O", "A"]
        dob = page.locator("#fields tbody tr", has_text="date_of_birth")
        assert dob.locator("mark").count() == 0

        page.keyboard.press("m")  # pair 1 match, on to pair 2
        expect(page.locator("#position")).to_have_text("2 of 4")
        page.keyboard.press("ArrowRight")  # skip pair 2
        expect(page.locator("#position")).to_have_text("3 of 4")
        page.keyboard.press("n")  # pair 3 non-match
        expect(page.locator("#position")).to_have_text("4 of 4")
        page.keyboard.press("u")  # pair 4 unsure
        expect(page.locator("#progress")).to_have_text("2 of 4 decided, 1 unsure")
        page.keyboard.press("z")  # undo the unsure
        expect(page.locator("#progress")).to_have_text("2 of 4 decided")
        expect(page.locator("#state")).to_have_text("undecided")
        page.keyboard.press("ArrowLeft")
        expect(page.locator("#position")).to_have_text("3 of 4")
        expect(page.locator("#state")).to_have_text("non-match")

        page.reload()  # a closed or reloaded browser loses nothing
        _ready(page)
        expect(page.locator("#progress")).to_have_text("2 of 4 decided")
        expect(page.locator("#position")).to_have_text("3 of 4")  # where the curator was
        decided = server.session.decided_file
        assert read_decisions(decided).rows() == [
            ("h|in.csv|0", "g|gp.parquet|0", "match"),
            ("h|in.csv|2", "g|gp.parquet|2", "non_match"),
        ]
        unsure = pl.read_csv(decided, infer_schema=False)["unsure"].fill_null("")
        assert unsure.to_list() == ["", "", "", ""]
    assert errors == []


def test_the_page_without_the_token_shows_nothing(page: Page, tmp_path: Path) -> None:
    with serving(ReviewSession.open(person_review_file(tmp_path))) as server:
        response = page.goto(server.url.split("?")[0])
        assert response is not None and response.status == 403
        assert "SOUTHWORTH" not in page.content()
