"""The console's static files (formrelay/console/), served as they are by the public function.

Only the files this module names are served, each with its content type: a path that
names anything else (another file, a directory, `..`, an encoded slash) is not looked
up on disk at all. Every answer carries a strict Content-Security-Policy: the console
loads its own scripts and styles only, inline script never runs, and it talks to its
own origin (the API) only; no frame may hold it and it sends no Referer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"
INDEX = "index.html"

# name -> content type: every file the console has, and nothing else.
FILES: dict[str, str] = {
    INDEX: "text/html; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "signing.js": "text/javascript; charset=utf-8",
    "views.js": "text/javascript; charset=utf-8",
    "forms.js": "text/javascript; charset=utf-8",
    "destinations.js": "text/javascript; charset=utf-8",
    "audit.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
# The page is small and names its modules without a content hash: revalidate it on every
# load; the modules may be kept a few minutes (a deploy shows within them).
INDEX_CACHE_CONTROL = "no-cache"
ASSET_CACHE_CONTROL = "public, max-age=300"


@dataclass(frozen=True)
class ConsoleFile:
    """One file of the console as it is answered."""

    body: str
    content_type: str
    headers: dict[str, str]


@lru_cache(maxsize=len(FILES))
def console_file(name: str) -> ConsoleFile | None:
    """The named file of the console, or None when the console has no such file."""
    content_type = FILES.get(name)
    if content_type is None:
        return None
    body = (CONSOLE_DIR / name).read_text(encoding="utf-8")
    return ConsoleFile(
        body=body,
        content_type=content_type,
        headers={
            "Cache-Control": INDEX_CACHE_CONTROL if name == INDEX else ASSET_CACHE_CONTROL,
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
