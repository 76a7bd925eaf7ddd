"""``wheel_ext/`` is a template for ``make wheel-lane`` (an extension's own repository, run by the
wheel's pytest in a clean venv), not part of this suite."""
collect_ignore = ["wheel_ext"]
