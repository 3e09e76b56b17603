"""Background work of the talent registry; the worker imports this module."""

from __future__ import annotations

from kexie.core.jobs import job_handler  # noqa: F401

# Import and duplicates (the worker commits large person imports and scans for duplicates).
from . import dedup as _dedup  # noqa: E402, F401
from . import importers as _importers  # noqa: E402, F401


# Retention purge (PI-09): also run daily by ``manage.py purge_people``.
@job_handler("people.purge")
def purge_people_job(job, progress=None, **kwargs) -> str:
    from .registration import people_purge

    counts = people_purge()
    return ", ".join(f"{key}: {value}" for key, value in counts.items())
