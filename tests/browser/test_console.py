"""The console against `formrelay dev --demo`: opened by a link, in headless chromium.

One stack and one browser for the module. Each test opens the console with a
short-lived key of its own (made with the key service, as a console link is), so that
revoking one ends only its own session.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from formrelay.auth.console_links import console_url
from formrelay.cli import console_link as console_link_command
from formrelay.cli.main import build_parser
from formrelay.delivery.memory import InMemoryDeliveryQueue
from formrelay.delivery.redelivery import RedeliveryRequest, request_redelivery
from formrelay.domain.clock import Clock, SystemClock
from tests.browser.conftest import sent_requests
from tests.e2e.conftest import RunningStack, running_stack

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
LINK_TTL_SECONDS = 600
WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The demo stack with a few delivered submissions."""
    with running_stack(tmp_path_factory.mktemp("formrelay-console")) as running:
        client = running.client()
        for n, topic in enumerate(("pricing", "support", "partnership")):
            answer = client.submit(
                running.demo["form_id"],
                {
                    "name": f"Visitor {n + 1}",
                    "email": f"visitor{n + 1}@example.com",
                    "message": f"About {topic}",
                },
            )
            assert answer.status_code == 202, answer.text
        running.wait_for(
            lambda: (
                len(
                    [
                        s
                        for s in client.list_submissions().json()["submissions"]
                        if s["status"] == "delivered"
                    ]
                )
                == 3
            ),
            what="the demo submissions to be delivered",
        )
        yield running


def console_link(
    stack: RunningStack,
    scopes: frozenset[str] = frozenset({"read"}),
    *,
    named: frozenset[str] | None = None,
) -> tuple[str, str, str]:
    """A short-lived key for the console and its link: (url, key id, secret).

    named: the scopes the link's fragment names, when not the key's own.
    """
    key, secret = stack.services().keys.create(
        stack.demo["tenant_id"], scopes, expires_at=int(time.time()) + LINK_TTL_SECONDS
    )
    url = console_url(stack.endpoint, key.key_id, secret, scopes if named is None else named)
    return url, key.key_id, secret


def open_console(browser: webdriver.Chrome, url: str) -> None:
    """A fresh page at the link (not a fragment change of the page already open)."""
    browser.get("about:blank")
    browser.get(url)


def wait(browser: webdriver.Chrome, css: str) -> WebElement:
    """The first element matching css, once there is one."""
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, css), f"no {css} on the page"
    )
    return browser.find_element(By.CSS_SELECTOR, css)


def rows(browser: webdriver.Chrome) -> list[WebElement]:
    wait(browser, ".submission-row")
    return browser.find_elements(By.CSS_SELECTOR, ".submission-row")


def screenshot(browser: webdriver.Chrome, name: str, width: int) -> None:
    """The page at this width, saved for the README."""
    browser.set_window_size(width, 900)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(width, min(max(int(height), 600), 2000))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}-{width}.png"))
    browser.set_window_size(1280, 900)


def test_the_link_shows_the_tenants_submissions_newest_first(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    url, key_id, _ = console_link(stack)
    open_console(browser, url)
    shown = [row.get_attribute("data-id") for row in rows(browser)]
    listed = [s["submission_id"] for s in stack.client().list_submissions().json()["submissions"]]
    assert shown == listed  # the API's order: newest first
    assert len(shown) >= 3
    # The key left the address bar: the secret is in the tab's memory only
    assert "s=" not in browser.current_url and browser.current_url.endswith("/console/#/")
    assert browser.find_element(By.ID, "key").text == key_id
    screenshot(browser, "submissions", 1280)
    screenshot(browser, "submissions", 360)


def test_a_link_typed_without_the_trailing_slash_still_opens_the_console(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    # Given a link whose /console/ lost its slash (HTTP API routes both to one route)
    url, key_id, _ = console_link(stack)
    open_console(browser, url.replace("/console/#", "/console#"))
    # Then the redirect to /console/ keeps the fragment: the key opens the console
    assert rows(browser)
    assert browser.current_url.endswith("/console/#/")
    assert browser.find_element(By.ID, "key").text == key_id


def test_a_filter_with_no_match_shows_the_empty_state(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    open_console(browser, console_link(stack)[0])
    rows(browser)
    browser.find_element(By.ID, "filter-status").send_keys("dead")  # keyboard: the select
    browser.find_element(By.ID, "filter-form").send_keys("contact\n")
    assert "No submissions" in wait(browser, "#state-empty").text


def test_a_submission_shows_its_attempts_and_a_verified_badge(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    # The demo's link holds submit: the page as it shows it, a Redeliver button included
    open_console(browser, console_link(stack, frozenset({"read", "audit", "submit"}))[0])
    first = rows(browser)[0]
    submission_id = first.get_attribute("data-id")
    first.find_element(By.TAG_NAME, "a").click()
    badge = wait(browser, "#badge")
    assert badge.get_attribute("data-verified") == "true", badge.text
    attempt = wait(browser, ".attempt")
    assert "HTTP 200, succeeded" in attempt.text and " ms" in attempt.text
    assert browser.find_elements(By.CSS_SELECTOR, ".event.received")
    payload = json.loads(browser.find_element(By.CSS_SELECTOR, ".payload").text)
    history = stack.client().history(submission_id).json()
    assert payload == history["events"][0]["data"]["payload"]
    screenshot(browser, "submission", 1280)
    screenshot(browser, "submission", 360)


def test_a_tampered_event_turns_the_badge_red(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    # Given a submission whose received event is edited in the table behind the API's back
    submission_id = stack.client().list_submissions().json()["submissions"][-1]["submission_id"]
    dynamodb = stack.dynamodb()
    table = stack.table("EventsTable")
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
    # When the console shows it
    open_console(browser, console_link(stack)[0])
    rows(browser)
    browser.execute_script(f"location.hash = '#/submissions/{submission_id}'")
    # Then its badge says it does not verify, in red
    badge = wait(browser, "#badge")
    assert badge.get_attribute("data-verified") == "false", badge.text
    assert "Does not verify" in badge.text and "badge-bad" in badge.get_attribute("class")
    screenshot(browser, "tampered", 1280)


def test_a_revoked_link_shows_the_expired_state(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    url, key_id, _ = console_link(stack)
    open_console(browser, url)
    rows(browser)
    # When the key is revoked, the open console's next request is refused
    stack.services().keys.revoke(stack.demo["tenant_id"], key_id)
    browser.execute_script("location.hash = '#/submissions/' + 'x'.repeat(8)")
    assert "This link has expired or was revoked" in wait(browser, "#state-expired").text


def test_an_expired_link_shows_the_expired_state(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    key, secret = stack.services().keys.create(
        stack.demo["tenant_id"], frozenset({"read"}), expires_at=int(time.time()) - 1
    )
    open_console(browser, f"{stack.endpoint}/console/#k={key.key_id}&s={secret}")
    assert "This link has expired or was revoked" in wait(browser, "#state-expired").text


class ClockBehind(Clock):
    """The system's clock, this many seconds behind."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def now(self) -> datetime:
        return SystemClock().now() - timedelta(seconds=self.seconds)

    def sleep(self, seconds: float) -> None:
        SystemClock().sleep(seconds)


def test_a_link_from_the_operator_command_shows_the_expired_state_once_its_ttl_passes(
    stack: RunningStack, browser: webdriver.Chrome, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a link made by `formrelay console-link` for the shortest ttl it allows (60 s),
    # counted from a clock 52 s behind: it ends 8 s from now, as any link ends at its ttl
    state_dir = str(stack.log_path.parent)
    args = build_parser().parse_args(
        [
            "console-link",
            "--tenant",
            "demo",
            "--ttl",
            "60s",
            "--scopes",
            "read",
            "--state-dir",
            state_dir,
        ]
    )
    assert console_link_command.run(args, env={}, clock=ClockBehind(52)) == 0
    printed = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines())
    url, expires = printed["console"], datetime.fromisoformat(printed["expires"])
    assert url.startswith(f"{stack.endpoint}/console/#k={printed['key_id']}&s=")
    assert 0 < expires.timestamp() - time.time() <= 8
    # When it is opened before then, it shows the submissions
    open_console(browser, url)
    assert rows(browser)
    assert not browser.find_elements(By.ID, "state-expired")
    # Then once the ttl has passed, the open console's next request is refused: expired
    time.sleep(max(0.0, expires.timestamp() - time.time()) + 1)
    browser.execute_script("location.hash = '#/submissions/' + 'x'.repeat(8)")
    assert "This link has expired or was revoked" in wait(browser, "#state-expired").text
    # And opened again, the link shows the same
    open_console(browser, url)
    assert "This link has expired or was revoked" in wait(browser, "#state-expired").text


def test_no_request_carries_the_secret_and_every_api_call_is_signed(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    sent_requests(browser)  # what earlier tests sent is not this test's
    url, key_id, secret = console_link(stack)
    open_console(browser, url)
    rows(browser)[0].find_element(By.TAG_NAME, "a").click()
    wait(browser, "#badge")
    sent = sent_requests(browser)
    api_calls = [r for r in sent if "/v1/" in r["url"]]
    assert {r["url"].split("?")[0].rsplit("/", 1)[-1] for r in api_calls} >= {
        "submissions",
        "verify",
    }
    for request in sent:
        assert secret not in request["url"]
        assert all(secret not in f"{k}: {v}" for k, v in request["headers"].items())
        assert secret not in request["body"]
    for request in api_calls:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert headers["x-fr-key-id"] == key_id
        assert len(headers["x-fr-signature"]) == 64
    # Nothing left this origin (a data: URL is no request: Chromium draws the date inputs'
    # calendar icon from one)
    left = [r["url"] for r in sent if r["url"] and not r["url"].startswith(stack.endpoint)]
    assert [url for url in left if not url.startswith("data:")] == []


def delivered_submission(stack: RunningStack) -> str:
    """A new submission of the demo form, once delivered: its id."""
    client = stack.client()
    answer = client.submit(
        stack.demo["form_id"],
        {"name": "Redelivery", "email": "again@example.com", "message": "Once more"},
    )
    assert answer.status_code == 202, answer.text
    submission_id = str(answer.json()["submission_id"])
    stack.wait_for(
        lambda: client.status(submission_id).json()["status"] == "delivered",
        what="the submission to be delivered",
    )
    return submission_id


def open_submission(browser: webdriver.Chrome, url: str, submission_id: str) -> None:
    open_console(browser, url)
    rows(browser)
    browser.execute_script(f"location.hash = '#/submissions/{submission_id}'")
    wait(browser, ".attempt")


def test_a_submit_link_redelivers_and_the_timeline_shows_the_next_round(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    # Given a delivered submission, opened by a link that holds submit
    submission_id = delivered_submission(stack)
    url, key_id, _ = console_link(stack, frozenset({"read", "submit"}))
    open_submission(browser, url, submission_id)
    assert not browser.find_elements(By.XPATH, "//h3[contains(., '(round 2)')]")
    button = wait(browser, "button[data-redeliver]")
    destination_id = button.get_attribute("data-redeliver")
    sent_requests(browser)
    # When it is pressed from the keyboard
    button.send_keys(Keys.ENTER)
    assert not button.is_enabled()  # while it runs
    # Then the page refreshes until the second round's attempt is on the timeline
    round_two = "//li[contains(@class, 'attempt')][.//h3[contains(., '(round 2)')]]"
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: d.find_elements(By.XPATH, round_two),
        "no attempt of round 2 on the timeline",
    )
    second = browser.find_element(By.XPATH, round_two)
    assert destination_id in second.text and "HTTP 200, succeeded" in second.text
    assert wait(browser, "button[data-redeliver]").is_enabled()
    assert browser.switch_to.active_element.get_attribute("data-redeliver") == destination_id
    # And the request was signed with the link's key and named the destination
    posts = [r for r in sent_requests(browser) if r["url"].endswith("/redeliveries")]
    assert len(posts) == 1
    assert json.loads(posts[0]["body"])["destination_id"] == destination_id
    assert {k.lower(): v for k, v in posts[0]["headers"].items()}["x-fr-key-id"] == key_id
    history = stack.client().history(submission_id).json()["events"]
    assert [e["data"]["round"] for e in history if e["type"] == "delivery.attempted"] == [1, 2]


def test_a_read_only_link_shows_no_redeliver_button(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    submission_id = stack.client().list_submissions().json()["submissions"][0]["submission_id"]
    open_submission(browser, console_link(stack, frozenset({"read"}))[0], submission_id)
    assert browser.find_elements(By.CSS_SELECTOR, ".destinations li")
    assert not browser.find_elements(By.CSS_SELECTOR, "button[data-redeliver]")


def test_a_refused_redelivery_shows_the_apis_answer(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    # A link whose fragment names submit for a key without it: the API still refuses
    submission_id = stack.client().list_submissions().json()["submissions"][0]["submission_id"]
    url = console_link(stack, frozenset({"read"}), named=frozenset({"read", "submit"}))[0]
    before = stack.client().history(submission_id).json()["events"]
    open_submission(browser, url, submission_id)
    wait(browser, "button[data-redeliver]").send_keys(Keys.ENTER)
    error = wait(browser, ".redeliver-error")
    # The authorizer's refusal, as the API answered it (its title; no detail)
    assert error.get_attribute("role") == "alert" and error.text == "Forbidden"
    assert wait(browser, "button[data-redeliver]").is_enabled()
    assert stack.client().history(submission_id).json()["events"] == before  # nothing asked


def test_a_redelivery_the_api_refuses_shows_the_problems_title_and_detail(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    # Given a delivered submission shown by a link that holds submit
    submission_id = delivered_submission(stack)
    open_submission(browser, console_link(stack, frozenset({"read", "submit"}))[0], submission_id)
    button = wait(browser, "button[data-redeliver]")
    # And, behind the console's back, a new round asked whose job never reaches a connector
    request_redelivery(
        RedeliveryRequest(
            tenant_id=stack.demo["tenant_id"],
            submission_id=submission_id,
            destination_id=button.get_attribute("data-redeliver"),
            requested_by="operator",
            correlation_id="console-test",
        ),
        events=stack.services().events,
        queue=InMemoryDeliveryQueue(),
    )
    # When Redeliver is pressed, the API answers 409 problem+json: its title and detail show
    button.send_keys(Keys.ENTER)
    error = wait(browser, ".redeliver-error")
    assert error.get_attribute("role") == "alert"
    assert error.text.startswith("Delivery in progress: still being delivered to"), error.text
    assert wait(browser, "button[data-redeliver]").is_enabled()
