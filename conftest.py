"""Settings every test run shares, and the order `make test` hands tests to its workers."""

from __future__ import annotations

import pytest
from hypothesis import settings

# Hypothesis' per-example deadline is a timing assertion: on a loaded 2-core
# machine a slow example fails a correct test. Speed is measured in bench/.
settings.register_profile("formrelay", deadline=None, print_blob=True)
settings.load_profile("formrelay")

# `make test` runs `pytest -n 2 --dist loadgroup --no-loadscope-reorder`: each group
# runs whole on one worker, and the workers take groups in the order collected.
# A module is one group (its module-scoped fixtures, a local stack among them, start
# once), unless its tests name their own with `pytest.mark.xdist_group`. The longest
# groups go first, so that no worker starts a two-minute module while the other
# has nothing left (measured with `--durations`; the rest keep their collected order).
LONGEST_FIRST = (
    "tests/packaging/test_build.py",  # builds .venv-sam, then `make build` and `build-host`
    "tests/e2e/test_delivery_faults.py",  # two groups, each with its own faulty stack
    "tests/e2e/test_hostile_input.py",
    "tests/e2e/test_fault_recovery.py",  # 100 submissions through failing functions, reconciled
    "tests/e2e/test_concurrent_delivery.py",
    "tests/e2e/test_key_rotation.py",
    "tests/e2e/test_api_fuzz.py",  # schemathesis: every operation, valid and invalid requests
    "tests/integration/test_local_workflow.py",
    "tests/e2e/test_build_dir.py",
    "tests/e2e/",  # every other module starts a local stack of its own
)


def _rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return next(
        (rank for rank, prefix in enumerate(LONGEST_FIRST) if path.startswith(prefix)),
        len(LONGEST_FIRST),
    )


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group each test with its module unless it names a group; longest groups first."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    items.sort(key=_rank)  # stable: a module's tests keep their order
