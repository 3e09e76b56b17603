"""Background work of the talent registry; the worker imports this module."""

from __future__ import annotations

from kexie.core.jobs import job_handler  # noqa: F401
