"""The console's Destinations page against `make run`'s demo: every demo form's destination
with its state and health, and an admin link enabling again the one a 410 disabled.

The demo submits one submission to each demo form: `contact`'s destination answers 200,
`newsletter`'s 503 (retrying), `quote`'s 503 (dead-lettered) and `support`'s 410, which
disables that destination.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.test_console import WAIT_SECONDS, console_link, open_console, screenshot, wait
from tests.e2e.conftest import RunningStack, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The stack as `make run` starts it, once the demo's 410 has disabled `helpdesk`."""
    with running_stack(tmp_path_factory.mktemp("formrelay-dests"), "--demo-submissions") as running:
        client = running.client()

        def settled() -> bool:
            support = client.list_destinations("support").json()["destinations"][0]
            newsletter = client.list_destinations("newsletter").json()["destinations"][0]
            contact = client.list_destinations("contact").json()["destinations"][0]
            return (
                not support["enabled"]
                and support["health"]["disabled"] is not None
                and newsletter["health"]["last_error"] is not None
                and contact["health"]["recent_succeeded"] >= 1
            )

        running.wait_for(settled, what="the demo's deliveries in the destinations' health")
        yield running


def open_destinations(browser: webdriver.Chrome, url: str) -> None:
    open_console(browser, url)
    wait(browser, ".submission-row, #state-empty")
    browser.execute_script("location.hash = '#/destinations'")
    wait(browser, ".destination-row")


def row(browser: webdriver.Chrome, form: str, destination: str) -> Any:
    return browser.find_element(
        By.CSS_SELECTOR, f"tr[data-form='{form}'][data-destination='{destination}']"
    )


def text(browser: webdriver.Chrome, form: str, destination: str, css: str) -> str:
    return str(row(browser, form, destination).find_element(By.CSS_SELECTOR, css).text)


def test_each_destination_shows_its_state_success_rate_latency_and_last_error(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    url, _, _ = console_link(stack, frozenset({"read"}))
    open_destinations(browser, url)
    # The healthy one: its success rate and latency
    assert text(browser, "contact", "primary", ".dest-state") == "enabled"
    assert text(browser, "contact", "primary", ".dest-rate").startswith("100% of the last")
    assert "p50" in text(browser, "contact", "primary", ".dest-latency")
    # The failing one: its last error, the receiver's status and what it answered
    assert text(browser, "newsletter", "mailing-list", ".dest-error").startswith("HTTP 503")
    assert text(browser, "newsletter", "mailing-list", ".dest-rate").startswith("0% of the last")
    # The one a 410 disabled: disabled, with the reason and since when
    assert text(browser, "support", "helpdesk", ".dest-state") == "disabled"
    reason = text(browser, "support", "helpdesk", ".dest-reason")
    assert "410" in reason and "since" in reason
    # A read-only link offers no enabling: it says who can
    assert browser.find_elements(By.CSS_SELECTOR, "button[data-enable]") == []
    assert "admin" in text(browser, "support", "helpdesk", ".dest-hint")
    screenshot(browser, "destinations", 1280)
    screenshot(browser, "destinations", 360)


def test_an_admin_link_enables_the_disabled_destination_again(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    url, _, _ = console_link(stack, frozenset({"read", "admin"}))
    open_destinations(browser, url)
    button = row(browser, "support", "helpdesk").find_element(By.CSS_SELECTOR, "button")
    assert button.get_attribute("data-enable") == "support/helpdesk"
    button.click()
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: text(d, "support", "helpdesk", ".dest-state") == "enabled",
        "the destination never showed enabled",
    )
    assert text(browser, "support", "helpdesk", ".dest-done") == "Enabled again"
    # And the API agrees: deliveries to it go out again
    shown = stack.client().get_destination("support", "helpdesk").json()
    assert shown["enabled"] is True and shown["disabled_reason"] is None


def test_a_link_without_read_or_admin_shows_the_missing_scope_state(
    stack: RunningStack, browser: webdriver.Chrome
) -> None:
    url, _, _ = console_link(stack, frozenset({"audit"}))
    open_console(browser, url)
    browser.execute_script("location.hash = '#/destinations'")
    state = wait(browser, "#state-noscope")
    assert "read or admin" in state.text
