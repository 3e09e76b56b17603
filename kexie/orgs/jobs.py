"""Background jobs of the organisation app.

Importing the importers registers them with ``core.imports`` (whose module also registers the
generic ``core.import_commit`` handler), so a worker that loads the ``jobs`` modules can commit
organisation imports.
"""

from kexie.orgs import importers  # noqa: F401
