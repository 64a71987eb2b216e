"""The inclusion prover: is every instance of the narrower schema one of the wider's?

`Prover.includes(wider, narrower, path)` answers with findings: none means proven
included. The narrower side is a conjunction of subschemas (`allOf` flattened,
`$ref` followed, a choice split into one conjunction per alternative, which is exact
for anyOf and over-approximates oneOf); every keyword of the wider side must be
implied by the narrower conjunction. A rule that is only sufficient returns a finding
that is not `decided`: the witness search then shows it or it stays undecided.

Recursion through `$ref` is co-inductive: a (wider, narrower) pair met again deeper
in the instance is assumed included, which is sound for recursive types; met again
at the same instance depth (a reference cycle that consumes no input) it is not decided.

Exact: types and type lists, enum/const and other finite narrower sides (decided by
validating each value), numeric bounds and multipleOf, string lengths, format
equality, patterns both in the modelled subset, items/additionalItems/tuples, item
and property counts, uniqueItems, required, properties/patternProperties/
additionalProperties (per declared name and per pattern region), property
dependencies, allOf. Only sufficient (witness search, else undecided): anyOf and
oneOf on the wider side, not, if/then/else, contains, schema dependencies,
propertyNames, patterns outside the subset, formats only one validator checks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from formrelay.domain.canonical import canonical_json
from formrelay.registry import (
    facts,
    inclusion_arrays,
    inclusion_choices,
    inclusion_objects,
    inclusion_scalars,
)
from formrelay.registry.conjunctions import flatten, split
from formrelay.registry.findings import BudgetExceeded, Candidate, Finding, InstancePath
from formrelay.registry.instances import NOTHING, Instances, kind_of
from formrelay.registry.refs import (
    Document,
    Location,
    UnresolvableReference,
    contains_reference,
    resolve,
)
from formrelay.registry.validators import Judge

_ENUMERATION_LIMIT = 64
_DEEPEST = 150  # nested comparisons at once: far below Python's recursion limit


@dataclass
class Budget:
    """How long and how many steps one check may take."""

    seconds: float = 1.0
    steps: int = 200_000
    _deadline: float = field(default=0.0, init=False)
    _used: int = field(default=0, init=False)

    def start(self) -> None:
        """Start the clock."""
        self._deadline = time.monotonic() + self.seconds
        self._used = 0

    def tick(self) -> None:
        """Count a step; raise BudgetExceeded past the budget."""
        self._used += 1
        if self._used > self.steps or (self._used % 64 == 1 and time.monotonic() > self._deadline):
            raise BudgetExceeded(f"the check ran out of its budget ({self.seconds} s)")


@dataclass
class Comparison:
    """One direction of one check: which schema is wider, which is the new one."""

    wider: Document
    narrower: Document
    wider_is_new: bool
    judge: Judge
    budget: Budget

    def say(self, subject: str, plural: bool = True) -> str:
        """ "<subject> accepted before are refused now", in this comparison's direction."""
        if self.wider_is_new:
            if plural:
                return f"{subject} accepted before are refused now"
            return f"{subject} was accepted before and is refused now"
        if plural:
            return f"{subject} that the new version accepts are refused by the previous version"
        return f"{subject} is accepted by the new version and refused by the previous version"

    def old_new(self, wider_value: Any, narrower_value: Any) -> tuple[Any, Any]:
        """The (previous, new) pair of a keyword's values."""
        if self.wider_is_new:
            return narrower_value, wider_value
        return wider_value, narrower_value


class Prover:
    """Proves inclusion between the subschemas of one comparison."""

    def __init__(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.judge = comparison.judge
        self.instances = Instances(comparison.judge, comparison.budget.tick)
        self._active: dict[tuple[Any, ...], int] = {}
        self._canonical: dict[int, bytes] = {}

    # -- wording ---------------------------------------------------------------------------

    def pointer(self, wider: Location, narrower: Sequence[Location], keyword: str) -> str:
        """The keyword's location in the new schema when it has it, else in the previous one."""
        ordered = [wider, *narrower] if self.comparison.wider_is_new else [*narrower, wider]
        for location in ordered:
            if location.has(keyword):
                return f"{location.pointer}/{keyword}"
        return ordered[0].pointer

    def change(self, keyword: str, wider_value: Any, narrower_value: Any) -> str:
        """ "maxLength lowered from 100 to 50" and the like, previous to new."""
        old, new = self.comparison.old_new(wider_value, narrower_value)
        if old is None:
            return f"{keyword} {_show(new)} added"
        if new is None:
            return f"{keyword} {_show(old)} removed"
        if _is_number(old) and _is_number(new):
            verb = "lowered" if new < old else "raised"
            return f"{keyword} {verb} from {_show(old)} to {_show(new)}"
        return f"{keyword} changed from {_show(old)} to {_show(new)}"

    def finding(
        self,
        pointer: str,
        reason: str,
        path: InstancePath,
        values: Sequence[Any],
        decided: bool = True,
    ) -> Finding:
        """A finding with candidate values at path."""
        return Finding(pointer, reason, tuple(Candidate(path, v) for v in values), decided)

    def keyword_finding(
        self,
        wider: Location,
        narrower: Sequence[Location],
        path: InstancePath,
        keyword: str,
        subject: str,
        values: Sequence[Any],
        decided: bool = True,
    ) -> Finding:
        """A keyword the narrower side does not live up to: what changed, in whose words,
        and the values among `values` that show it."""
        first = next((n.keyword(keyword) for n in narrower if n.has(keyword)), None)
        reason = self.change(keyword, wider.keyword(keyword), first)
        reason += ": " + self.comparison.say(subject)
        shown = self.refuted(wider, narrower, [v for v in values if v is not NOTHING])
        return self.finding(self.pointer(wider, narrower, keyword), reason, path, shown, decided)

    def refuted(
        self, wider: Location, narrower: Sequence[Location], values: Sequence[Any]
    ) -> list[Any]:
        """The values the narrower side accepts and the wider refuses (jsonschema), in order."""
        found: list[Any] = []
        for value in values:
            if len(found) >= 8:
                break
            if self.instances.valid(narrower, value) and not self.judge.sub_accepts(wider, value):
                found.append(value)
        return found

    # -- the prover --------------------------------------------------------------------------

    def holds(self, wider: Location, narrower: Sequence[Location], path: InstancePath) -> bool:
        """Whether inclusion is proven (findings discarded)."""
        return not self.includes(wider, narrower, path)

    def equivalent(self, one: Location, other: Location, path: InstancePath) -> bool:
        """Whether two subschemas accept the same values (as far as inclusion shows)."""
        return self.holds(one, [other], path) and self.holds(other, [one], path)

    def includes(
        self, wider: Location, narrower: Sequence[Location], path: InstancePath
    ) -> list[Finding]:
        """Findings against "every instance of narrower is one of wider" (none: proven)."""
        self.comparison.budget.tick()
        try:
            resolved = resolve(wider)
            conjuncts = flatten(narrower)
        except UnresolvableReference as exc:
            return [self.finding(wider.pointer, f"{exc}: not followed", path, [], False)]
        if any(loc.schema is False for loc in conjuncts) or facts.is_trivial(resolved):
            return []
        if resolved.schema is False:
            return [self._refuses_everything(resolved, conjuncts, path)]
        if self._same(resolved, conjuncts):
            return []
        key = (_place(resolved), tuple(_place(c) for c in conjuncts))
        if key in self._active:
            if self._active[key] < len(path):
                return []  # co-inductive: assumed while it is being shown
            return [
                self.finding(resolved.pointer, "a $ref cycle consumes no input", path, [], False)
            ]
        if len(self._active) > _DEEPEST:
            return [
                self.finding(
                    resolved.pointer, "the schemas nest too deep to compare", path, [], False
                )
            ]
        self._active[key] = len(path)
        try:
            return _dedupe(self._compare(resolved, conjuncts, path))
        finally:
            del self._active[key]

    def _compare(
        self, wider: Location, narrower: list[Location], path: InstancePath
    ) -> list[Finding]:
        listed = self._listed(wider, narrower, path)
        if listed is not None:
            return listed
        parts = split(narrower)
        if parts is not None:
            return [f for part in parts for f in self.includes(wider, part, path)]

        findings = inclusion_choices.findings(self, wider, narrower, path)
        findings += self._kinds(wider, narrower, path)
        kinds = facts.conjunction_kinds(narrower) & facts.kinds_of(wider)
        if kinds & {"integer", "fraction"}:
            findings += inclusion_scalars.number_findings(self, wider, narrower, path, kinds)
        if "string" in kinds:
            findings += inclusion_scalars.string_findings(self, wider, narrower, path)
        if "array" in kinds:
            findings += inclusion_arrays.findings(self, wider, narrower, path)
        if "object" in kinds:
            findings += inclusion_objects.findings(self, wider, narrower, path)
        if wider.has("enum") or wider.has("const"):
            findings += self._enum_narrowed(wider, narrower, path)
        return findings

    def _same(self, wider: Location, narrower: list[Location]) -> bool:
        if len(narrower) != 1 or wider.spent or narrower[0].spent:
            return False
        if contains_reference(wider.schema) or contains_reference(narrower[0].schema):
            return False
        return self._text(wider.schema) == self._text(narrower[0].schema)

    def _text(self, schema: Any) -> bytes:
        key = id(schema)
        if key not in self._canonical:
            self._canonical[key] = canonical_json(schema)
        return self._canonical[key]

    def _refuses_everything(
        self, wider: Location, narrower: list[Location], path: InstancePath
    ) -> Finding:
        reason = f"the schema at {wider.pointer or '/'} is false: " + self.comparison.say("values")
        return self.finding(wider.pointer, reason, path, self.instances.examples(narrower))

    def _listed(
        self, wider: Location, narrower: list[Location], path: InstancePath
    ) -> list[Finding] | None:
        """Decide a finite narrower side (enum, const, null, boolean, few integers) exactly."""
        values = self._finite_values(narrower)
        if values is None:
            return None
        findings = []
        for value in values[:_ENUMERATION_LIMIT]:
            if self.instances.valid(narrower, value) and not self.judge.sub_accepts(wider, value):
                reason = self.comparison.say(f"the value {_show(value)}", plural=False)
                findings.append(
                    self.finding(self._value_pointer(wider, narrower, value), reason, path, [value])
                )
        return findings

    def _finite_values(self, narrower: list[Location]) -> list[Any] | None:
        for location in narrower:
            if location.has("const"):
                return [location.keyword("const")]
            if location.has("enum"):
                return list(location.keyword("enum"))
        if split(narrower) is not None:
            return None
        kinds = facts.conjunction_kinds(narrower)
        if kinds <= {"null", "boolean"}:
            return [v for v in (None, False, True) if kind_of(v) in kinds]
        if kinds == {"integer"}:
            lower, upper = facts.lower_bound(narrower), facts.upper_bound(narrower)
            if lower and upper:
                low, high = facts.smallest_integer(lower), facts.largest_integer(upper)
                if high - low < _ENUMERATION_LIMIT:
                    return list(range(low, high + 1))
        return None

    def _value_pointer(self, wider: Location, narrower: list[Location], value: Any) -> str:
        for keyword in ("const", "enum"):
            if wider.has(keyword):
                return f"{wider.pointer}/{keyword}"
        if kind_of(value) not in facts.kinds_of(wider):
            return self.pointer(wider, narrower, "type")
        for keyword in ("enum", "const"):
            if any(n.has(keyword) for n in narrower):
                return self.pointer(wider, narrower, keyword)
        return wider.pointer

    def _kinds(
        self, wider: Location, narrower: list[Location], path: InstancePath
    ) -> list[Finding]:
        missing = facts.conjunction_kinds(narrower) - facts.kinds_of(wider)
        if not missing:
            return []
        declared = next((n.keyword("type") for n in narrower if n.has("type")), None)
        change = self.change("type", wider.keyword("type"), declared)
        names = ", ".join(facts.KIND_NAMES[k] for k in facts.KINDS if k in missing)
        subject = f"values of type {names}" if len(missing) <= 2 else "values of other types"
        reason = f"{change}: " + self.comparison.say(subject)
        examples = self.instances.examples(narrower, missing)
        return [self.finding(self.pointer(wider, narrower, "type"), reason, path, examples)]

    def _enum_narrowed(
        self, wider: Location, narrower: list[Location], path: InstancePath
    ) -> list[Finding]:
        keyword = "const" if wider.has("const") else "enum"
        reason = f"{keyword} restricts the values: " + self.comparison.say("other values")
        examples = self.instances.examples(narrower)
        return [self.finding(self.pointer(wider, narrower, keyword), reason, path, examples)]


def _place(location: Location) -> tuple[int, str, frozenset[str]]:
    return id(location.document), location.pointer, location.spent


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: dict[tuple[str, str], Finding] = {}
    for finding in findings:
        key = (finding.pointer, finding.reason)
        if key in seen:
            merged = seen[key].candidates + finding.candidates
            seen[key] = Finding(
                finding.pointer, finding.reason, merged, seen[key].decided and finding.decided
            )
        else:
            seen[key] = finding
    return list(seen.values())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
