"""Counterexamples: whole instances one version accepts and the other refuses.

A finding's candidate values are placed at their instance path inside a small
instance of the narrower root schema; a candidate becomes a witness only when both
validators (jsonschema with the registry's FormatChecker, and fastjsonschema through
CompiledSchema) accept it under the narrower schema and refuse it under the wider.
"""

from __future__ import annotations

from typing import Any

from formrelay.domain.canonical import canonical_json
from formrelay.registry.findings import Finding
from formrelay.registry.instances import Instances
from formrelay.registry.refs import Document, root_of
from formrelay.registry.validators import Judge

MAX_CANDIDATES = 24


class _Missing:
    pass


MISSING: Any = _Missing()


def witness(
    finding: Finding, narrower: Document, wider: Document, judge: Judge, instances: Instances
) -> Any:
    """The first confirmed witness of a finding, or MISSING."""
    seen: set[bytes] = set()
    for candidate in finding.candidates[:MAX_CANDIDATES]:
        for instance in instances.embed([root_of(narrower)], candidate.path, candidate.value)[:3]:
            key = canonical_json(instance)
            if key in seen:
                continue
            seen.add(key)
            if confirms(instance, narrower, wider, judge):
                return instance
    return MISSING


def confirms(instance: Any, narrower: Document, wider: Document, judge: Judge) -> bool:
    """Whether both validators accept instance under narrower and refuse it under wider."""
    return judge.accepts(narrower, instance) is True and judge.accepts(wider, instance) is False
