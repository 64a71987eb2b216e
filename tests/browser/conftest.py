"""The console in a real browser: Debian's headless chromium, driven by its chromedriver.

`make test` installs both (apt-get, as root) when they are missing; run without them,
these tests fail and say so rather than skip: the console is tested or not shipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--window-size=1280,900",
)


def _require_browser() -> None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: install Debian's chromium and chromium-driver "
            "(`make test` does, when run as root)",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """One headless chromium for the module, with its network log kept."""
    _require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    # Every request the page sends, as the browser's DevTools saw it (Network.* events).
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def sent_requests(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """What the browser sent since the last call: each request's URL, headers and body.

    `Network.requestWillBeSent` holds the URL (without its fragment, which stays in the
    browser) and the body; `...ExtraInfo` the headers as they went on the wire.
    """
    sent = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            request = params["request"]
            sent.append(
                {
                    "url": request["url"],
                    "headers": request.get("headers", {}),
                    "body": request.get("postData", ""),
                }
            )
        elif message["method"] == "Network.requestWillBeSentExtraInfo":
            sent.append({"url": "", "headers": params.get("headers", {}), "body": ""})
    return sent
