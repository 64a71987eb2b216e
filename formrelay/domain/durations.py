"""Durations as people write them: `90`, `90s`, `5m`, `1h` or `7d`."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Longer text is no duration anyone means (and costs nothing to refuse).
_MAX_LENGTH = 32


def parse_duration(text: str) -> float:
    """A duration in seconds; ValueError if the text is none."""
    found = _DURATION.match(text.strip()) if len(text) <= _MAX_LENGTH else None
    if found is None:
        raise ValueError(f"not a duration like 5m, 90s, 1h or 7d: {text[:_MAX_LENGTH]!r}")
    return float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
