"""Settings every test run shares."""

from hypothesis import settings

# Hypothesis' per-example deadline is a timing assertion: on a loaded 2-core
# machine a slow example fails a correct test. Speed is measured in bench/.
settings.register_profile("formrelay", deadline=None, print_blob=True)
settings.load_profile("formrelay")
