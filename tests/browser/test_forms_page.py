"""The console's forms page and the submissions list's time range, in headless chromium
against `formrelay dev --demo`.

Given a form of three versions: v2 stops requiring the name (BACKWARD compatible), v3
requires a phone (not: registered under NONE, then the form set back to BACKWARD), the
page lists the tenant's forms, shows a form's versions under its mode, and shows how two
versions compare as the registry's checker sees it, with the counterexample it proved
each incompatibility with.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from formrelay.auth.console_links import console_url
from formrelay.registry.registration import register
from formrelay.registry.schemas import CompiledSchema
from tests.browser.conftest import sent_requests
from tests.e2e.conftest import RunningStack, running_stack

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
LINK_TTL_SECONDS = 600
WAIT_SECONDS = 20
FORM = "signup"
V1: dict[str, Any] = {
    "type": "object",
    "required": ["email", "name"],
    "properties": {"email": {"type": "string"}, "name": {"type": "string"}},
}
V2: dict[str, Any] = {**V1, "required": ["email"]}
V3: dict[str, Any] = {
    "type": "object",
    "required": ["email", "phone"],
    "properties": {**V1["properties"], "phone": {"type": "string"}},
}
CONSOLE_SCOPES = frozenset({"read", "audit", "submit"})  # a console link's default


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The demo stack with the signup form at its three versions, under BACKWARD."""
    with running_stack(tmp_path_factory.mktemp("formrelay-forms-page")) as running:
        forms = running.services().forms
        register(forms, "demo", FORM, V1)
        register(forms, "demo", FORM, V2)
        register(forms, "demo", FORM, V3, "NONE")  # BACKWARD would refuse it
        register(forms, "demo", FORM, V3, "BACKWARD")  # the mode alone, for the versions to come
        yield running


def console_link(
    stack: RunningStack, scopes: frozenset[str] = CONSOLE_SCOPES
) -> tuple[str, str, str]:
    """A short-lived key for the console and its link: (url, key id, secret)."""
    key, secret = stack.services().keys.create(
        stack.demo["tenant_id"], scopes, expires_at=int(time.time()) + LINK_TTL_SECONDS
    )
    return console_url(stack.endpoint, key.key_id, secret, scopes), key.key_id, secret


def open_console(browser: webdriver.Chrome, url: str, route: str = "") -> None:
    """A fresh page at the link, then (if given) the route, as a click on a link would go."""
    browser.get("about:blank")
    browser.get(url)
    wait(browser, "#main > :not([role=status])")  # the first page drawn, the key taken
    if route:
        browser.execute_script("location.hash = arguments[0]", route)


def wait(browser: webdriver.Chrome, css: str) -> WebElement:
    """The first element matching css, once there is one."""
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, css), f"no {css} on the page"
    )
    return browser.find_element(By.CSS_SELECTOR, css)


def verdict(browser: webdriver.Chrome, compatible: str) -> WebElement:
    """The verdict's badge, once it says compatible is `compatible` ("true", "false")."""
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: [
            b
            for b in d.find_elements(By.ID, "verdict-badge")
            if b.get_attribute("data-compatible") == compatible
        ],
        f"no verdict of compatible={compatible}",
    )
    return browser.find_element(By.ID, "verdict-badge")


def incompatibilities(browser: webdriver.Chrome) -> dict[str, dict[str, Any]]:
    """Each incompatibility shown, by its pointer: reason, direction, label and witness."""
    shown = {}
    for item in browser.find_elements(By.CSS_SELECTOR, ".incompatibility"):
        shown[item.get_attribute("data-pointer") or ""] = {
            "reason": item.find_element(By.CSS_SELECTOR, ".reason").text,
            "direction": item.get_attribute("data-direction"),
            "label": item.find_element(By.CSS_SELECTOR, ".witness-label").text,
            "witness": json.loads(item.find_element(By.CSS_SELECTOR, ".witness").text),
        }
    return shown


def screenshot(browser: webdriver.Chrome, name: str, width: int) -> None:
    """The page at this width, saved for the README."""
    browser.set_window_size(width, 900)
    browser.execute_script("window.scrollTo(0, 0)")
    # The page's whole height, and the window's own frame around it
    height = browser.execute_script(
        "return document.documentElement.scrollHeight + (outerHeight - innerHeight)"
    )
    browser.set_window_size(width, min(max(int(height), 600), 2000))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}-{width}.png"))
    browser.set_window_size(1280, 900)


def test_the_forms_page_lists_every_form_with_its_current_version_and_mode(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    # Given a console link as `formrelay console-link` makes them (read, audit, submit)
    open_console(browser, console_link(stack)[0])
    # When the Forms link in the bar is followed from the keyboard
    browser.find_element(By.CSS_SELECTOR, "a[href='#/forms']").send_keys(Keys.ENTER)
    wait(browser, ".form-row")
    # Then every form of the tenant shows, by id, with its current version and mode
    shown = [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in browser.find_elements(By.CSS_SELECTOR, ".form-row")
    ]
    listed = stack.client().list_forms().json()["forms"]
    assert shown == [[f["form_id"], f"v{f['version']}", f["compatibility"]] for f in listed]
    assert [FORM, "v3", "BACKWARD"] in shown


def test_a_form_shows_its_versions_and_what_its_latest_change_breaks(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    # Given the forms page
    open_console(browser, console_link(stack)[0], "#/forms")
    # When the signup form is opened
    wait(browser, f".form-row[data-form='{FORM}'] a").click()
    # Then the latest change (v2 to v3) is compared under the form's mode: not compatible,
    # each reason at its pointer with the document the checker proved it with
    badge = verdict(browser, "false")
    assert badge.text.startswith("Version 3 is not BACKWARD compatible with version 2")
    shown = incompatibilities(browser)
    assert set(shown) == {"/required", "/properties/phone"}
    assert "'phone' is required now" in shown["/required"]["reason"]
    for found in shown.values():
        assert found["direction"] == "backward"
        assert found["label"] == (
            "Counterexample: version 2 accepts this document, version 3 refuses it"
        )
        assert CompiledSchema(V2).violations(found["witness"]) == []
        assert CompiledSchema(V3).violations(found["witness"]) != []
    # As the API answers it
    api = stack.client().request(
        "GET", f"/v1/forms/{FORM}/compatibility", query={"from": "2", "to": "3"}
    )
    assert {i["pointer"]: i["witness"] for i in api.json()["incompatibilities"]} == {
        pointer: found["witness"] for pointer, found in shown.items()
    }
    screenshot(browser, "forms", 1280)
    screenshot(browser, "forms", 360)
    # And its mode and its three versions show, the current one's schema as registered
    assert "BACKWARD" in wait(browser, "#form-mode").text
    versions = browser.find_elements(By.CSS_SELECTOR, ".version")
    assert [v.get_attribute("data-version") for v in versions] == ["3", "2", "1"]
    assert "current" in versions[0].text
    versions[0].find_element(By.TAG_NAME, "summary").click()
    assert json.loads(versions[0].find_element(By.CSS_SELECTOR, ".schema").text) == V3
    versions[2].find_element(By.TAG_NAME, "summary").click()  # an older one, read when opened
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda _: versions[2].find_element(By.CSS_SELECTOR, ".schema").text.startswith("{")
    )
    assert json.loads(versions[2].find_element(By.CSS_SELECTOR, ".schema").text) == V1


def test_two_chosen_versions_compare_under_the_forms_mode_or_one_picked(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    open_console(browser, console_link(stack)[0], f"#/forms/{FORM}")
    verdict(browser, "false")
    # When v1 and v2 are chosen: under the form's BACKWARD, dropping a requirement is fine
    Select(browser.find_element(By.ID, "compare-from")).select_by_value("1")
    Select(browser.find_element(By.ID, "compare-to")).select_by_value("2")
    browser.find_element(By.ID, "compare").send_keys(Keys.ENTER)
    assert verdict(browser, "true").text == "Version 2 is BACKWARD compatible with version 1"
    assert not browser.find_elements(By.CSS_SELECTOR, ".incompatibility")
    # And under FORWARD (picked), v1 refuses what v2 accepts: a document without a name
    Select(browser.find_element(By.ID, "compare-mode")).select_by_value("FORWARD")
    browser.find_element(By.ID, "compare").click()
    assert verdict(browser, "false").text.startswith("Version 2 is not FORWARD compatible")
    assert "the form's own mode is BACKWARD" in browser.find_element(By.ID, "verdict").text
    [(pointer, found)] = incompatibilities(browser).items()
    assert (pointer, found["direction"]) == ("/required", "forward")
    assert found["label"] == "Counterexample: version 2 accepts this document, version 1 refuses it"
    assert "name" not in found["witness"]
    assert CompiledSchema(V1).violations(found["witness"]) != []
    # The choice is in the address, and a page opened at that address compares the same
    route = f"#/forms/{FORM}?from=1&to=2&mode=FORWARD"
    assert browser.current_url.endswith(route)
    open_console(browser, console_link(stack)[0], route)
    assert verdict(browser, "false").text.startswith("Version 2 is not FORWARD compatible")
    assert Select(browser.find_element(By.ID, "compare-mode")).first_selected_option.text == (
        "FORWARD"
    )


def test_the_same_version_twice_shows_the_apis_problem_and_the_form_stays_usable(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    open_console(browser, console_link(stack)[0], f"#/forms/{FORM}")
    verdict(browser, "false")
    Select(browser.find_element(By.ID, "compare-from")).select_by_value("3")
    browser.find_element(By.ID, "compare").click()
    problem = wait(browser, "#verdict #state-error")
    assert "Bad request" in problem.text
    assert "from and to must name two different versions" in problem.text
    assert browser.find_element(By.ID, "compare").is_enabled()


def test_a_link_that_cannot_read_forms_shows_the_missing_scope_and_asks_nothing(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    # Given a link of the audit scope only: it lists submissions, but may not read forms
    url, key_id, secret = console_link(stack, frozenset({"audit"}))
    open_console(browser, url)
    sent_requests(browser)
    browser.execute_script("location.hash = '#/forms'")
    state = wait(browser, "#state-scope")
    assert "This link cannot read forms" in state.text
    assert "holds audit" in state.text
    # And the console did not ask the API for what it would refuse
    assert not [r for r in sent_requests(browser) if "/v1/forms" in r["url"]]
    # Which the API does refuse: the key holds no scope that reads forms
    assert stack.client(key_id, secret).list_forms().status_code == 403


def test_a_revoked_link_on_the_forms_page_shows_the_expired_state(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    url, key_id, _ = console_link(stack)
    open_console(browser, url, "#/forms")
    wait(browser, ".form-row")
    stack.services().keys.revoke(stack.demo["tenant_id"], key_id)
    browser.execute_script("location.hash = arguments[0]", f"#/forms/{FORM}")
    assert "This link has expired or was revoked" in wait(browser, "#state-expired").text


LOCAL_TIME = """
const d = new Date(arguments[0] * 1000), pad = (n) => String(n).padStart(2, "0");
return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
  `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
"""


def submitted(stack: RunningStack, message: str) -> str:
    answer = stack.client().submit(
        stack.demo["form_id"], {"name": "Range", "email": "range@example.com", "message": message}
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["submission_id"])


def filter_by_time(browser: webdriver.Chrome, since: float | None, until: float | None) -> None:
    """Set the list's time inputs (in the browser's local time) and submit the filters."""
    for field, at in (("filter-since", since), ("filter-until", until)):
        value = "" if at is None else browser.execute_script(LOCAL_TIME, at)
        browser.execute_script(
            "arguments[0].value = arguments[1]", browser.find_element(By.ID, field), value
        )
    browser.find_element(By.ID, "filter-form").send_keys(Keys.ENTER)


def listed(browser: webdriver.Chrome, expected: set[str], absent: set[str]) -> None:
    """Wait until the list shows every expected submission and none of the absent ones."""

    def shown(d: webdriver.Chrome) -> bool:
        ids = {
            r.get_attribute("data-id") for r in d.find_elements(By.CSS_SELECTOR, ".submission-row")
        }
        return expected <= ids and not ids & absent

    # The list redraws itself while a submission is in flight: a row read as it is
    # replaced is read again at the next poll
    WebDriverWait(
        browser, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,)
    ).until(shown, f"{expected} listed without {absent}")


def test_the_time_range_narrows_the_submissions_list(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    # Given one submission received before a whole second `between`, and one after it
    earlier = submitted(stack, "before")
    time.sleep(1.2)
    between = math.ceil(time.time())
    time.sleep(max(0.0, between - time.time()) + 0.3)
    later = submitted(stack, "after")
    client = stack.client()
    stack.wait_for(
        lambda: (
            {earlier, later}
            <= {s["submission_id"] for s in client.list_submissions().json()["submissions"]}
        ),
        what="both submissions listed",
    )
    open_console(browser, console_link(stack)[0])
    listed(browser, {earlier, later}, set())
    # When the list is asked for what was received from `between` on: the later one only
    filter_by_time(browser, between, None)
    listed(browser, {later}, {earlier})
    # And until `between`: the earlier one only
    filter_by_time(browser, None, between)
    listed(browser, {earlier}, {later})
    # A range that ends before it starts is the API's problem, shown beside the filters
    filter_by_time(browser, between, between - 3600)
    problem = wait(browser, "#state-error")
    assert "Bad request" in problem.text and "until must be later than since" in problem.text
    assert browser.find_element(By.ID, "filter-since").is_enabled()
    # And cleared, the list holds both again
    filter_by_time(browser, None, None)
    listed(browser, {earlier, later}, set())
