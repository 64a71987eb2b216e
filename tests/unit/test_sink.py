"""The demo receiver answers 200, or the status its /status/<code> path names."""

from __future__ import annotations

import httpx

from formrelay.local.sink import Sink, answer_status


def test_a_status_path_answers_its_status_and_any_other_path_200() -> None:
    assert answer_status("/status/503") == 503
    assert answer_status("/status/422?x=1") == 422
    for path in (
        "/hooks/contact",
        "/status/",
        "/status/5030",
        "/status/99",
        "/status/600",
        "/x/status/503",
    ):
        assert answer_status(path) == 200


def test_the_receiver_records_a_failed_request_and_answers_its_status() -> None:
    with Sink() as sink:
        failed = httpx.post(f"{sink.url}/status/503", content=b'{"a":1}', timeout=5)
        refused = httpx.post(f"{sink.url}/status/422", content=b"{}", timeout=5)
        delivered = httpx.post(f"{sink.url}/hooks/contact", content=b"{}", timeout=5)
        assert (failed.status_code, failed.json()) == (503, {"ok": False, "status": 503})
        assert (refused.status_code, refused.json()) == (422, {"ok": False, "status": 422})
        assert (delivered.status_code, delivered.json()) == (200, {"ok": True})
        assert [r["path"] for r in sink.received()] == [
            "/status/503",
            "/status/422",
            "/hooks/contact",
        ]
