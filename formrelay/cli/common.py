"""What the API commands share: the credential flags and how an answer is printed."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import httpx


def add_credentials(parser: argparse.ArgumentParser) -> None:
    """--endpoint, --key-id and --secret (each also from the environment)."""
    parser.add_argument("--endpoint", help="API endpoint (or FORMRELAY_ENDPOINT)")
    parser.add_argument("--key-id", help="API key id (or FORMRELAY_KEY_ID)")
    parser.add_argument("--secret", help="API key secret (or FORMRELAY_SECRET)")


def print_answer(response: httpx.Response) -> int:
    """The answer as JSON: stdout on success (exit 0), stderr otherwise (exit 1)."""
    try:
        document: Any = response.json()
    except ValueError:
        document = {"status": response.status_code, "body": response.text}
    stream = sys.stdout if response.is_success else sys.stderr
    print(json.dumps(document, indent=2, ensure_ascii=False), file=stream)
    return 0 if response.is_success else 1
