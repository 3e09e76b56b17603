"""Chinese-aware search over the registry (DOMAIN.md §7).

Neither database indexes what Chinese names need: SQLite's FTS5 trigram tokenizer finds nothing
for 1–2 characters and PostgreSQL's pg_trgm cannot index 2-character infixes. So Kexie makes its
own tokens — unigrams and bigrams of the name and the employer, plus ``py``-prefixed pinyin
keys of the name (full and initials, every surname reading) — and stores them in one index per
database:

* SQLite: an FTS5 table ``people_person_fts`` (rowid = person id, ``detail=none``: only term
  look-ups are needed), fed pre-split tokens separated by spaces;
* PostgreSQL: a table ``people_person_search`` with a ``text[]`` column and a GIN index,
  queried with ``tokens @> ARRAY[...]``.

The services keep the index in step (``index_persons`` / ``unindex_persons`` in the same
transaction as the write); ``python manage.py rebuild_search_index`` rebuilds it from scratch.

Query routing: an ID number or a mobile number goes to the blind index (exact, never
substring); ASCII letters go to the pinyin keys; Chinese text goes to the unigram (1
character), bigram (2) or all overlapping bigrams plus a recheck (3 or more).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from kexie.core.text import ngrams, pinyin_keys, query_tokens, search_key
from kexie.core.validators import normalise_id_number, normalise_mobile

FTS_TABLE = "people_person_fts"
PG_TABLE = "people_person_search"
PINYIN_PREFIX = "py"
MAX_QUERY_LENGTH = 40

# The statements, fixed text: table names are constants, every value is a parameter (WEB-02).
_PG_COPY = f"COPY {PG_TABLE} (person_id, tokens) FROM STDIN"
_FTS_INSERT = f"INSERT INTO {FTS_TABLE} (rowid, tokens) VALUES (%s, %s)"  # noqa: S608
_PG_DELETE_ALL = f"DELETE FROM {PG_TABLE}"  # noqa: S608
_FTS_DELETE_ALL = f"DELETE FROM {FTS_TABLE}"  # noqa: S608
_PG_DELETE_IDS = f"DELETE FROM {PG_TABLE} WHERE person_id = ANY(%s)"  # noqa: S608
_FTS_DELETE_IDS = f"DELETE FROM {FTS_TABLE} WHERE rowid IN (SELECT value FROM json_each(%s))"  # noqa: S608
_FTS_OPTIMIZE = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')"  # noqa: S608
_PG_MATCH = f"SELECT person_id FROM {PG_TABLE} WHERE tokens @> %s::text[]"  # noqa: S608
_PG_PROBE = f"SELECT person_id FROM {PG_TABLE} WHERE tokens @> %s::text[] LIMIT %s"  # noqa: S608
_FTS_MATCH = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608

# PostgreSQL: a token query matching at most this many persons is answered by fetching the ids
# from the GIN index first (docs/decisions/0006, docs/performance.md).
PG_PROBE_LIMIT = 2000

_NOT_TOKEN = re.compile(r"[^\w]", re.UNICODE)
_ID_SHAPE = re.compile(r"^[1-9](\d{16}[\dX]|\d{14})$")  # address codes never start with 0
_MOBILE_SHAPE = re.compile(r"^1[3-9]\d{9}$")
_PINYIN_SHAPE = re.compile(r"^[a-z]{1,30}$")


# --- tokens ------------------------------------------------------------------------------------


def _clean(key: str) -> str:
    return _NOT_TOKEN.sub("", key)


def text_tokens(text: str) -> list[str]:
    """Unigrams and bigrams of a text's search key, punctuation dropped."""
    return ngrams(_clean(search_key(text)))


def person_tokens(name: str, employer: str) -> list[str]:
    tokens = text_tokens(name) + text_tokens(employer)
    tokens += sorted(PINYIN_PREFIX + key for key in pinyin_keys(_clean(search_key(name))) if key)
    return list(dict.fromkeys(t for t in tokens if t))


# --- keeping the index in step -----------------------------------------------------------------


def index_rows(rows: Iterable[tuple[int, str, str]], *, fresh: bool = False) -> int:
    """(Re)index persons given as (id, name, employer name); returns how many. ``fresh``:
    the persons were just created, so there is nothing of theirs to remove first."""
    rows = [(pk, person_tokens(name, employer)) for pk, name, employer in rows]
    if not rows:
        return 0
    if not fresh:
        unindex_persons([pk for pk, _ in rows])
    insert_tokens(rows)
    return len(rows)


def insert_tokens(rows: Sequence[tuple[int, Sequence[str]]]) -> None:
    """Store (person id, tokens) rows (COPY on PostgreSQL: several times faster than INSERT)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(_PG_COPY) as copy:
                for pk, tokens in rows:
                    copy.write_row((pk, list(tokens)))
        else:
            cursor.executemany(_FTS_INSERT, [(pk, " ".join(tokens)) for pk, tokens in rows])


def index_persons(persons: Iterable) -> int:
    return index_rows((p.pk, p.name, p.employer_name) for p in persons)


def unindex_persons(ids: Sequence[int]) -> None:
    if not ids:
        return
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 5000):
            chunk = [int(pk) for pk in ids[start : start + 5000]]
            if connection.vendor == "postgresql":
                cursor.execute(_PG_DELETE_IDS, [chunk])
            else:
                cursor.execute(_FTS_DELETE_IDS, [json.dumps(chunk)])


def clear_index() -> None:
    with connection.cursor() as cursor:
        cursor.execute(_PG_DELETE_ALL if connection.vendor == "postgresql" else _FTS_DELETE_ALL)


def rebuild_index(*, batch_size: int = 2000, progress=None) -> int:
    """Rebuild the whole index from the person table, in batches, keyset-paginated."""
    from .models import Person

    clear_index()
    done, last_id = 0, 0
    while True:
        batch = list(
            Person.objects.filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", "name", "employer__name", "employer_text")[:batch_size]
        )
        if not batch:
            break
        index_rows((pk, name, org_name or text) for pk, name, org_name, text in batch)
        done += len(batch)
        last_id = batch[-1][0]
        if progress:
            progress(done)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(_FTS_OPTIMIZE)
    return done


# --- queries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoutedQuery:
    """What a search box query means: ``kind`` is id, phone, pinyin, text or empty."""

    kind: str
    value: str = ""
    tokens: tuple[str, ...] = ()
    recheck: str = ""

    @property
    def is_sensitive(self) -> bool:
        """ID and phone queries must never travel in a URL (API-06)."""
        return self.kind in ("id", "phone")


def route_query(raw: str) -> RoutedQuery:
    text = (raw or "").strip()[:MAX_QUERY_LENGTH]
    if not text:
        return RoutedQuery("empty")
    id_candidate = normalise_id_number(text)
    if _ID_SHAPE.match(id_candidate):
        return RoutedQuery("id", value=id_candidate)
    mobile = normalise_mobile(text)
    if _MOBILE_SHAPE.match(mobile):
        return RoutedQuery("phone", value=mobile)
    key = _clean(search_key(text))
    if not key:
        return RoutedQuery("empty")
    if _PINYIN_SHAPE.match(key):
        return RoutedQuery("pinyin", value=key, tokens=(PINYIN_PREFIX + key,))
    tokens = tuple(query_tokens(key))
    return RoutedQuery("text", value=key, tokens=tokens, recheck=key if len(key) > 2 else "")


def _token_filter(tokens: Sequence[str]) -> Q:
    """``pk`` restricted to the persons whose index holds every token.

    SQLite drives the query from the FTS5 match. PostgreSQL's planner, given ``pk IN (subquery)
    ORDER BY id DESC LIMIT n``, prefers to walk the primary key backwards and test each row's
    tokens, which reads hundreds of thousands of rows for a token with a few hundred matches.
    So on PostgreSQL the matching ids are fetched from the GIN index first (one bitmap scan);
    when there are at most ``PG_PROBE_LIMIT`` of them the query filters on that literal list,
    otherwise — a frequent token, for which the backward walk meets matches early — on the
    subquery as before.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_PG_PROBE, [list(tokens), PG_PROBE_LIMIT + 1])
            ids = [row[0] for row in cursor.fetchall()]
        if len(ids) <= PG_PROBE_LIMIT:
            return Q(pk__any=ids)  # one array parameter (core/lookups.py)
        # constant SQL, the tokens are a parameter
        return Q(pk__in=RawSQL(_PG_MATCH, (list(tokens),)))  # noqa: S611
    match = " ".join('"' + t.replace('"', "") + '"' for t in tokens)
    return Q(pk__in=RawSQL(_FTS_MATCH, (match,)))  # noqa: S611 - constant SQL, parameter


def search_q(routed: RoutedQuery) -> Q:
    """The filter a routed query adds to a person queryset (already scoped by the caller)."""
    from kexie.core.crypto import blind_index

    from .identity import ID_PURPOSE, PHONE_PURPOSE, canonical_id_number

    if routed.kind == "id":
        value = canonical_id_number(routed.value)
        return Q(id_index=blind_index(value, purpose=ID_PURPOSE))
    if routed.kind == "phone":
        return Q(phone_index=blind_index(routed.value, purpose=PHONE_PURPOSE))
    if routed.kind in ("pinyin", "text") and routed.tokens:
        q = _token_filter(routed.tokens)
        if routed.recheck:
            q &= (
                Q(name_key__contains=routed.recheck)
                | Q(employer__name__contains=routed.recheck)
                | Q(employer_text__contains=routed.recheck)
            )
        return q
    return Q(pk__in=[])
