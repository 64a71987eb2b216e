"""`make run`'s demo in the console: a submission in every state, opened by the printed link.

`formrelay dev --demo --demo-submissions` (what `make run` runs) submits one submission
to each demo form over the API; the pipeline delivers them to the demo receiver, whose
/status/ paths fail, so one is delivered, one retrying, one dead-lettered and one failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.test_console import (
    WAIT_SECONDS,
    console_link,
    open_console,
    open_submission,
    screenshot,
    wait,
)
from tests.e2e.conftest import RunningStack, running_stack

# The state each demo destination shows, and the submission's own status beside it.
SHOWN = {
    "delivered": "delivered",
    "retrying": "delivering",
    "dead_lettered": "dead_lettered",
    "failed": "failed",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The stack as `make run` starts it."""
    with running_stack(tmp_path_factory.mktemp("formrelay-demo"), "--demo-submissions") as running:
        yield running


def _status(stack: RunningStack, submission_id: str) -> dict[str, Any]:
    return dict(stack.client().status(submission_id).json())


def _settled(stack: RunningStack, submission: dict[str, str]) -> bool:
    """The submission's destination is in the state it shows, the retrying one with a due time."""
    view = _status(stack, submission["submission_id"])
    destination = view["destinations"][submission["destination_id"]]
    if destination["state"] != submission["shows"]:
        return False
    # Retrying past its first retry (5 s): the next is minutes away, not about to run
    return submission["shows"] != "retrying" or destination["attempts"] >= 2


def _shown_rows(browser: webdriver.Chrome) -> dict[str, str]:
    """Each listed submission's status as the page shows it (read at once: the page refreshes)."""
    return dict(
        browser.execute_script(
            "return Object.fromEntries([...document.querySelectorAll('.submission-row')]"
            ".map((row) => [row.dataset.id, row.querySelector('.status').className]))"
        )
    )


def _page_text(browser: webdriver.Chrome, css: str) -> list[str]:
    return list(
        browser.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent)", css
        )
    )


def test_the_printed_link_shows_a_submission_in_every_state(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    # Given the demo's submissions, one per state, and the banner that names them
    submissions = stack.demo["demo_submissions"]
    assert sorted(s["shows"] for s in submissions) == sorted(SHOWN)
    banner = stack.log_path.read_text()
    assert "demo submissions  contact delivered, newsletter retrying, quote dead lettered" in banner
    for submission in submissions:
        stack.wait_for(
            lambda s=submission: _settled(stack, s),
            what=f"the {submission['form_id']} submission to be {submission['shows']}",
            describe=lambda s=submission: _status(stack, s["submission_id"]),
        )

    # When the link `make run` printed is opened, the list shows each one's status
    open_console(browser, stack.demo["console_url"])
    expected = {s["submission_id"]: f"status status-{SHOWN[s['shows']]}" for s in submissions}
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: _shown_rows(d) == expected, "the demo submissions' statuses on the list"
    )
    screenshot(browser, "demo", 1280)
    screenshot(browser, "demo", 360)

    # And each one's page shows its destination's state; the retrying one its due retry
    by_state = {s["shows"]: s for s in submissions}
    for state, submission in by_state.items():
        browser.execute_script(f"location.hash = '#/submissions/{submission['submission_id']}'")
        wait(browser, f".destinations li[data-destination='{submission['destination_id']}']")
        WebDriverWait(browser, WAIT_SECONDS).until(
            lambda d, s=submission, state=state: any(
                f"{s['destination_id']} {state}," in text
                for text in _page_text(d, ".destinations li")
            ),
            f"{submission['destination_id']} {state} on its page",
        )
        attempts = _page_text(browser, ".attempt .attempt-result")
        waiting = _page_text(browser, ".event.waiting")
        if state == "delivered":
            assert attempts == ["HTTP 200, succeeded"]
        elif state == "retrying":
            assert attempts[:2] == ["HTTP 503, retryable_failure"] * 2
            assert len(waiting) == 1 and waiting[0].startswith("Retry waiting for mailing-list")
            screenshot(browser, "retrying", 1280)
        elif state == "dead_lettered":
            assert attempts == ["HTTP 503, retryable_failure"] * 3
            assert _page_text(browser, ".event[data-type='delivery.dead_lettered'] h3") == [
                "delivery.dead_lettered"
            ]
        else:
            assert attempts == ["HTTP 410, final_failure"]
            assert _page_text(browser, ".event[data-type='delivery.failed'] h3") == [
                "delivery.failed"
            ]
        if state != "retrying":
            assert waiting == []


def test_a_redelivery_to_a_disabled_destination_ends_its_wait_with_the_rounds_failure(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    # Given the demo submission whose destination a 410 disabled, shown by a submit link
    failed = next(s for s in stack.demo["demo_submissions"] if s["shows"] == "failed")
    stack.wait_for(lambda: _settled(stack, failed), what="the support submission to fail")
    url = console_link(stack, frozenset({"read", "submit"}))[0]
    open_submission(browser, url, failed["submission_id"])
    # When Redeliver is pressed: the API takes the round, and the connector fails it at
    # once, making no attempt (the destination is still disabled)
    button = wait(browser, f"button[data-redeliver='{failed['destination_id']}']")
    button.send_keys(Keys.ENTER)
    # Then the wait ends on the round's failure, with its reason, and the button is back
    reasons = "//li[@data-type='delivery.failed'][contains(., 'destination_disabled')]"
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: d.find_elements(By.XPATH, reasons), "the new round's failure on the timeline"
    )
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "button[data-redeliver]").is_enabled(),
        "Redeliver enabled again",
    )
    assert _page_text(browser, ".redeliver-status") == [""]
    assert _page_text(browser, ".attempt .attempt-result") == ["HTTP 410, final_failure"]
    history = stack.client().history(failed["submission_id"]).json()["events"]
    assert [e["type"] for e in history][-2:] == ["delivery.redelivery_requested", "delivery.failed"]
