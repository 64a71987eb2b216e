"""The console's audit page against `formrelay dev --demo`, in headless chromium: an export
downloaded as NDJSON holds the tenant's events of the window; a long export shows its
progress and stops at once when cancelled; verification is green, then red naming a
stream edited in the table; a link without the audit scope says so instead of the form."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from formrelay.cli.main import main
from tests.browser.conftest import sent_requests
from tests.browser.test_console import SCREENSHOTS, WAIT_SECONDS, console_link, open_console, wait
from tests.e2e.conftest import RunningStack, running_stack

AUDIT = frozenset({"read", "audit"})
SUBMISSIONS = 12
LONG_EXPORT_SUBMISSIONS = 150


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The demo stack with a dozen delivered submissions: events for several pages."""
    with running_stack(tmp_path_factory.mktemp("formrelay-audit-page")) as running:
        client = running.client()
        ids = []
        for n in range(SUBMISSIONS):
            answer = client.submit(
                running.demo["form_id"],
                {"name": f"Auditor {n}", "email": f"a{n}@example.com", "message": "Check"},
            )
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["submission_id"])
        running.wait_for(
            lambda: all(client.status(i).json()["status"] == "delivered" for i in ids),
            what="the submissions to be delivered",
        )
        yield running


def screenshot(browser: webdriver.Chrome, name: str, width: int) -> None:
    """The whole page at this width, saved for the README (the window a little taller than
    the page: the window's size is not all viewport)."""
    browser.set_window_size(width, 900)
    height = int(browser.execute_script("return document.documentElement.scrollHeight"))
    browser.set_window_size(width, min(height + 160, 2400))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}-{width}.png"))
    browser.set_window_size(1280, 900)


def open_audit(browser: webdriver.Chrome, stack: RunningStack, scopes: frozenset[str]) -> None:
    """The console opened by a link, then its Audit page from the bar, by keyboard."""
    open_console(browser, console_link(stack, scopes)[0])
    link = wait(browser, "nav a[href='#/audit']")
    link.send_keys(Keys.ENTER)
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#export-form, #state-scope"),
        "the audit page did not show",
    )


def fill(browser: webdriver.Chrome, field_id: str, value: str) -> None:
    field = browser.find_element(By.ID, field_id)
    field.clear()
    field.send_keys(value)


def exported(stack: RunningStack, since: str, until: str) -> list[dict[str, Any]]:
    """Every event of the window, as the API's export gives it to a signed client."""
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        answer = stack.client().audit_events(since, until, cursor=cursor)
        assert answer.status_code == 200, answer.text
        events += [json.loads(line) for line in answer.text.splitlines()]
        cursor = answer.headers.get("x-fr-next-cursor")
        if cursor is None:
            return events


def pages_of(status: str) -> int:
    """The pages a status line counts ("Exporting: 7 events, 3 pages")."""
    words = status.replace(",", "").split()
    return int(words[words.index("pages") - 1]) if "pages" in words else 0


def anchor_every_head(stack: RunningStack) -> None:
    """`formrelay audit anchor` until every submission is anchored (an anchor takes in
    events a few seconds old: the tenant index lags appends)."""
    client, state_dir = stack.client(), str(stack.log_path.parent)
    listed = [s["submission_id"] for s in client.list_submissions().json()["submissions"]]

    def anchored() -> bool:
        assert main(["audit", "anchor", "--tenant", "demo", "--state-dir", state_dir]) == 0
        return all(client.verify(s).json()["anchored"] for s in listed)

    stack.wait_for(anchored, what="every submission anchored")


def test_an_export_downloads_the_windows_events_as_ndjson(
    stack: RunningStack, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    # Given the audit page, downloads going to a folder of this test
    browser.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    open_audit(browser, stack, AUDIT)
    since = "2000-01-01T00:00:00Z"
    until = browser.find_element(By.ID, "export-until").get_attribute("value")
    # When a window is exported five events a page, from the keyboard
    fill(browser, "export-since", since)
    fill(browser, "export-limit", "5")
    browser.find_element(By.ID, "export-start").send_keys(Keys.ENTER)
    link = wait(browser, "#export-download")
    # Then the page says how much it read, and offers the file named for tenant and window
    status = browser.find_element(By.ID, "export-status").text
    events, pages = (int(status.split()[1]), int(status.split()[3]))
    assert status.startswith("Exported ") and pages > 1, status
    name = link.get_attribute("download")
    assert name == f"formrelay-audit-demo-{since.replace(':', '')}-{until.replace(':', '')}.ndjson"
    assert link.get_attribute("href").startswith("blob:")
    assert browser.switch_to.active_element == link  # the result takes the focus
    link.send_keys(Keys.ENTER)
    saved = tmp_path / name
    WebDriverWait(browser, WAIT_SECONDS).until(lambda _: saved.exists(), f"{name} not saved")
    lines = saved.read_text(encoding="utf-8").splitlines()
    # And the file's lines are the tenant's events of the window, as the API exports them
    assert len(lines) == events
    downloaded = [json.loads(line) for line in lines]
    assert downloaded == exported(stack, since, until)
    assert {event["tenant_id"] for event in downloaded} == {"demo"}
    assert sum(event["type"] == "submission.received" for event in downloaded) >= SUBMISSIONS
    # And once saved, the Blob's URL is let go
    assert "Saved" in wait(browser, "#export-saved").text


def test_a_long_export_shows_its_progress_and_cancel_stops_it_at_once(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    # Given enough events that a one-event-a-page export takes a while (the local stack
    # answers a page in a few milliseconds: two dozen pages are over before a look)
    client = stack.client()
    for n in range(LONG_EXPORT_SUBMISSIONS):
        answer = client.submit(
            stack.demo["form_id"],
            {"name": f"Long {n}", "email": f"long{n}@example.com", "message": "More"},
        )
        assert answer.status_code == 202, answer.text
    open_audit(browser, stack, AUDIT)
    fill(browser, "export-since", "2000-01-01T00:00:00Z")
    fill(browser, "export-limit", "1")  # one event a page: hundreds of pages
    sent_requests(browser)
    browser.find_element(By.ID, "export-start").click()
    # While it runs: the progress bar, the pages so far, and Cancel enabled
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: pages_of(d.find_element(By.ID, "export-status").text) >= 3,
        "the export did not reach its third page",
    )
    progress = browser.find_element(By.ID, "export-progress")
    assert progress.is_displayed() and 0 < float(progress.get_attribute("value")) <= 1
    assert not browser.find_element(By.ID, "export-start").is_enabled()
    browser.find_element(By.ID, "export-cancel").click()
    # Then it stops where it was: no more pages asked, nothing offered
    status = wait(browser, "#export-status")
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda _: status.text.startswith("Cancelled after "), "not cancelled"
    )
    stopped = status.text
    asked = len([r for r in sent_requests(browser) if "/v1/audit/events" in r["url"]])
    time.sleep(1.5)
    assert status.text == stopped
    assert not [r for r in sent_requests(browser) if "/v1/audit/events" in r["url"]]
    pages = pages_of(stopped)
    assert pages < len(exported(stack, "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"))
    assert asked >= pages
    assert not browser.find_elements(By.ID, "export-download")
    assert browser.find_element(By.ID, "export-start").is_enabled()


def test_a_bad_window_shows_the_problems_title_and_detail(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    open_audit(browser, stack, AUDIT)
    fill(browser, "export-since", "yesterday")
    browser.find_element(By.ID, "export-start").click()
    error = wait(browser, "#audit-error")
    assert error.get_attribute("role") == "alert"
    assert "since must be an RFC 3339 time" in error.text, error.text
    assert not browser.find_elements(By.ID, "export-download")


def test_a_link_without_audit_shows_the_missing_scope_state(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    sent_requests(browser)
    open_audit(browser, stack, frozenset({"read"}))
    state = wait(browser, "#state-scope")
    assert "This link cannot audit" in state.text and "audit scope" in state.text
    assert not browser.find_elements(By.ID, "export-form")
    assert not browser.find_elements(By.ID, "verify-form")
    assert not [r for r in sent_requests(browser) if "/v1/audit/" in r["url"]]


def test_verify_is_green_then_red_naming_a_stream_edited_in_the_table(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    # Given the streams anchored once (as the schedule does), and one more submission since
    anchor_every_head(stack)
    assert stack.client().submit(stack.demo["form_id"], {"name": "Late", "email": "l@e.co"})
    # When the audit page verifies the record, it is green
    open_audit(browser, stack, AUDIT)
    fill(browser, "verify-limit", "4")  # a few streams a page: the console follows the pages
    browser.find_element(By.ID, "verify-start").send_keys(Keys.ENTER)
    verdict = wait(browser, "#verdict")
    assert verdict.get_attribute("data-verified") == "true", verdict.text
    assert "badge-ok" in verdict.get_attribute("class")
    status = browser.find_element(By.ID, "verify-status").text
    assert status.startswith("Checked ") and "stream heads checked" in status, status
    anchored = int(status.split("(")[1].split()[0])
    anchors = int(status.rsplit(", ", 1)[1].split()[0])  # "..., 1 anchor"
    assert anchored >= SUBMISSIONS and anchors >= 1, status
    assert pages_of(status) > 3, status
    assert not browser.find_elements(By.ID, "verify-findings")
    # When a submission's received event is edited behind the API's back
    submission_id = stack.client().list_submissions().json()["submissions"][-1]["submission_id"]
    dynamodb, table = stack.dynamodb(), stack.table("EventsTable")
    key = {"pk": {"S": f"T#demo#S#{submission_id}"}, "sk": {"S": "V#0000000001"}}
    data = json.loads(dynamodb.get_item(TableName=table, Key=key)["Item"]["data"]["S"])
    data["payload"]["message"] = "Please wire the money"
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": "data"},
        ExpressionAttributeValues={":d": {"S": json.dumps(data, separators=(",", ":"))}},
    )
    # Then verifying again is red, and names that stream and its first bad version
    browser.find_element(By.ID, "verify-start").click()
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#verdict[data-verified='false']"),
        "the verdict did not turn red",
    )
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.text == "Does not verify: 1 problem found"
    assert "badge-bad" in verdict.get_attribute("class")
    [finding] = browser.find_elements(By.CSS_SELECTOR, "#verify-findings .finding")
    assert finding.get_attribute("data-id") == submission_id
    assert finding.text.startswith(f"Stream {submission_id}, version 1: altered"), finding.text
    screenshot(browser, "audit", 1280)
    screenshot(browser, "audit", 360)
