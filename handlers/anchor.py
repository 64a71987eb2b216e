"""The scheduled anchor run: every tenant's changed stream heads, anchored.

EventBridge Scheduler invokes it every 5 minutes (the template's `Schedule`
event); `formrelay dev` on a timer; `formrelay audit anchor` on demand. One
tenant's failure is logged and does not keep the others from their anchors:
the function fails afterwards, so the run counts as an error and is retried.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.composition import services
from formrelay.telemetry.tracing import traced

logger = Logger()


class AnchorRunError(RuntimeError):
    """Some tenants' anchors could not be taken (each was logged with its tenant)."""


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Anchor every tenant; the anchors taken, by tenant and sequence number."""
    taken: dict[str, int] = {}
    failed: list[str] = []
    for tenant_id in services().tenants.ids():
        try:
            anchor = services().anchoring.take(tenant_id)
        except Exception:
            logger.exception("anchor not taken", extra={"tenant_id": tenant_id})
            failed.append(tenant_id)
            continue
        if anchor is not None:
            taken[tenant_id] = anchor.sequence
            logger.info(
                "anchor taken",
                extra={"tenant_id": tenant_id, "sequence": anchor.sequence, "root": anchor.root},
            )
    if failed:
        raise AnchorRunError(f"no anchor for {len(failed)} tenant(s): {', '.join(failed)}")
    return {"anchors": taken}
