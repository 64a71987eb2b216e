"""Sample strings per `format`: what the witness search tries when a format changes.

Only formats the registry's FormatChecker knows are "known"; a witness for any format
still has to convince both validators (fastjsonschema checks some formats jsonschema
leaves alone, such as hostname and uri: those witnesses are dropped).
"""

from __future__ import annotations

from formrelay.registry.validators import FORMAT_CHECKER

SAMPLES: dict[str, tuple[str, ...]] = {
    "email": ("someone@example.com",),
    "idn-email": ("someone@example.com",),
    "date": ("2024-01-31",),
    "date-time": ("2024-01-31T12:00:00Z",),
    "time": ("12:00:00Z",),
    "ipv4": ("192.0.2.1",),
    "ipv6": ("2001:db8::1",),
    "hostname": ("example.com",),
    "idn-hostname": ("example.com",),
    "uri": ("https://example.com/",),
    "uri-reference": ("/a/b",),
    "json-pointer": ("/a/b",),
    "relative-json-pointer": ("1/a",),
    "regex": ("^a+$",),
    "uuid": ("123e4567-e89b-12d3-a456-426614174000",),
}
# Strings most formats refuse: tried first when a format is added.
NOT_FORMATTED = ("not-an-email", "not a date", "", "x", "[", "::::::", "a b")


def known(format_name: str) -> bool:
    """Whether the registry's FormatChecker checks this format."""
    return format_name in FORMAT_CHECKER.checkers


def samples_of(format_name: str) -> list[str]:
    """Strings that satisfy the format (as far as the table knows)."""
    return list(SAMPLES.get(format_name, ()))


def other_format_samples(format_name: str) -> list[str]:
    """Strings that may fail the format: samples of every other format, then plain text."""
    others = [s for name, samples in SAMPLES.items() if name != format_name for s in samples]
    return [*NOT_FORMATTED, *others]
