"""Materialised-path helpers for the organisation tree.

A path is the concatenation of fixed-width, zero-padded decimal segments, one per level
(``00001`` for the root, ``0000100003`` for its third child, …). Digits only, fixed width:
every descendant of ``P`` sorts in the half-open range ``[P, P+1)`` where ``P+1`` is the same
string read as an integer plus one. That range is a plain B-tree range scan on SQLite and on
PostgreSQL (whatever the collation, since digit-only strings of this shape order the same), so
subtree queries never recurse in Python and never use ``LIKE``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

PATH_SEGMENT = 5
MAX_SIBLINGS = 10**PATH_SEGMENT - 2  # keeps path_upper_bound the same length


def segment(number: int) -> str:
    if not 1 <= number <= MAX_SIBLINGS:
        raise ValueError(f"sibling number {number} out of range")
    return str(number).zfill(PATH_SEGMENT)


def path_upper_bound(path: str) -> str:
    """The smallest path-shaped string greater than every descendant of ``path``."""
    return str(int(path) + 1).zfill(len(path))


def minimal_paths(paths: Iterable[str]) -> list[str]:
    """Drop paths that lie inside another path of the set (their subtree is already covered)."""
    result: list[str] = []
    for path in sorted(set(paths)):
        if not result or not path.startswith(result[-1]):
            result.append(path)
    return result


def subtree_q(paths: Iterable[str], prefix: str = "") -> Q:
    """A Q object matching organisations in the subtree of any of ``paths`` (inclusive).

    ``prefix`` is the lookup prefix to the organisation, e.g. ``"organisation__"``.
    """
    q = Q()
    roots = minimal_paths(paths)
    if not roots:
        return Q(pk__in=[])
    for path in roots:
        q |= Q(**{f"{prefix}path__gte": path, f"{prefix}path__lt": path_upper_bound(path)})
    return q


# Above this many organisations a subtree is matched by its path range instead of an id list.
MAX_LITERAL_IDS = 2000


def owned_by_subtrees_q(paths: Iterable[str], field: str = "organisation") -> Q:
    """Rows whose foreign key ``field`` points at an organisation in the subtree of any of
    ``paths``, as a literal list of organisation ids.

    For large tables this is the plan-friendly form: with the id list the database can read the
    owning rows through the foreign key's index for a small subtree, or walk the primary key
    for a large one, and answer "the newest 50" without sorting the subtree's rows; a join on
    the path range made SQLite read and sort every owned row first (docs/performance.md). One
    small query on the organisation table; above ``MAX_LITERAL_IDS`` organisations it falls
    back to the path range on the join.
    """
    from .models import Organisation

    roots = minimal_paths(paths)
    if not roots:
        return Q(pk__in=[])
    ids = list(
        Organisation.objects.filter(subtree_q(roots)).values_list("id", flat=True)[
            : MAX_LITERAL_IDS + 1
        ]
    )
    if len(ids) > MAX_LITERAL_IDS:
        return subtree_q(roots, prefix=f"{field}__")
    return Q(**{f"{field}_id__in": ids})
