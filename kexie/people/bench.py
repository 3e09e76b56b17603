"""The registry benchmark (issue 4 part 10): fill a scratch database with N fictional persons,
then time search, the list page, import and export. Prints ``bench: <name> <value> <unit>``
lines; never asserts timings (STYLE.md 18).

Run through ``python manage.py bench_people`` (which makes the scratch databases); the
functions here work on whatever database is configured, so the command refuses to run them
against one that is not a benchmark or test database.
"""

from __future__ import annotations

import datetime as dt
import resource
import statistics
import time
from collections.abc import Callable

from django.db import connection, transaction

from kexie.accounts.roles import Action
from kexie.orgs.models import Organisation

from . import search
from .bulk import PersonBulkInserter
from .demo import PersonGenerator, _load_title_levels
from .models import Person
from .search import person_tokens, text_tokens

Out = Callable[[str], None]


def figure(out: Out, name: str, value, unit: str) -> None:
    if isinstance(value, float):
        value = f"{value:.2f}" if value < 100 else f"{value:.0f}"
    out(f"bench: {name} {value} {unit}")


def peak_rss_mb() -> float:
    """The peak resident set size of this process image, in MB.

    ``VmHWM`` from /proc is reset by exec; ``ru_maxrss`` is not (Linux carries the forking
    parent's peak over into the child), so it is only the fallback.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def timed_ms(func: Callable[[], object], *, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


# --- filling the database -------------------------------------------------------------------


class TokenCache:
    """Search tokens per name and per employer: names repeat a lot, pinyin is slow."""

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {}
        self.employers: dict[str, list[str]] = {}

    def tokens(self, name: str, employer: str) -> list[str]:
        name_tokens = self.names.get(name)
        if name_tokens is None:
            name_tokens = self.names[name] = person_tokens(name, "")
        employer_tokens = self.employers.get(employer)
        if employer_tokens is None:
            employer_tokens = self.employers[employer] = text_tokens(employer)
        return list(dict.fromkeys(name_tokens + employer_tokens))


def fill(n: int, *, out: Out, seed: int = 4242, batch_size: int = 5000) -> dict:
    """Insert ``n`` generated persons with their search tokens; returns samples for queries."""
    _load_title_levels()
    gen = PersonGenerator(seed=seed, phone_base=0)
    cache = TokenCache()
    inserter = PersonBulkInserter()
    samples: dict[str, list[str]] = {"1": [], "2": [], "3": [], "pinyin": [], "id": []}
    start = time.perf_counter()
    done = 0
    while done < n:
        size = min(batch_size, n - done)
        batch = [gen.person() for _ in range(size)]
        with transaction.atomic():
            inserter.insert(batch)
            search.insert_tokens([(p.pk, cache.tokens(p.name, p.employer_name)) for p in batch])
        for p in batch[:: max(1, size // 20)]:
            key = p.name_key
            if len(key) in (2, 3) and "·" not in p.name:
                samples[str(len(key))].append(key)
                samples["pinyin"].append(
                    min((k for k in cache.names[p.name] if k.startswith("py")), key=len)[2:]
                )
            if p.id_number:
                samples["id"].append(p.id_number)
        done += size
        if done % 100_000 < batch_size or done == n:
            out(f"  filled {done:,} persons ({time.perf_counter() - start:.0f} s)")
    seconds = time.perf_counter() - start
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {search.FTS_TABLE}({search.FTS_TABLE}) VALUES ('optimize')"  # noqa: S608
            )
            cursor.execute("ANALYZE")
    else:
        # VACUUM also merges the GIN index's pending list (COPY leaves up to 4 MB of it,
        # which every look-up would otherwise scan), as a bulk load in production would.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
    figure(out, "fill_rate", n / seconds, "rows/s")
    figure(out, "fill_time", seconds, "s")
    return samples


# --- measurements -----------------------------------------------------------------------------


def bench_user():
    """A unit administrator of the prefecture: sees, reviews and exports everything."""
    from kexie.accounts.models import User
    from kexie.accounts.services import role_grant

    user = User.objects.filter(username="bench_prefecture").first()
    if user is None:
        user = User.objects.create_user(username="bench_prefecture", password=None)
        role_grant(
            actor=None,
            user=user,
            organisation=Organisation.objects.get(code="KX654200"),
            role="unit_admin",
        )
    return user


def search_figures(samples: dict, *, out: Out, repeat: int) -> None:
    from .selectors import person_list, person_search

    user = bench_user()
    queries = {
        "search_1char": ["王", "李", "马", "古", "霞"],
        "search_2char": list(dict.fromkeys(samples["2"]))[:5],
        "search_3char": list(dict.fromkeys(samples["3"]))[:5],
        "search_pinyin_initials": list(dict.fromkeys(samples["pinyin"]))[:5],
        "search_id_exact": samples["id"][:5],
    }
    results: dict[str, list[float]] = {}
    for name, values in queries.items():
        times: list[float] = []
        for q in values:
            list(person_search(user=user, query=q)[:50])  # warm
            times += timed_ms(
                lambda q=q: list(person_search(user=user, query=q)[:50]), repeat=repeat
            )
        results[name] = times
        figure(out, f"{name}_p50", statistics.median(times), "ms")
        figure(out, f"{name}_p95", percentile(times, 95), "ms")
    naive: list[float] = []
    for q in queries["search_2char"]:
        naive += timed_ms(
            lambda q=q: list(person_list(user=user).filter(name__icontains=q)[:50]),
            repeat=max(3, repeat // 4),
        )
    figure(out, "search_2char_icontains_p50", statistics.median(naive), "ms")
    figure(out, "search_2char_icontains_p95", percentile(naive, 95), "ms")
    ratio = percentile(naive, 95) / max(percentile(results["search_2char"], 95), 1e-6)
    figure(out, "search_2char_speedup_p95", ratio, "x")
    ratio50 = statistics.median(naive) / max(statistics.median(results["search_2char"]), 1e-6)
    figure(out, "search_2char_speedup_p50", ratio50, "x")


def list_page_figures(*, out: Out, repeat: int) -> None:
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    user = bench_user()
    try:
        url = reverse("people:person_list") + "?county=654221"
    except NoReverseMatch:
        url = ""
    if url:
        client = Client(raise_request_exception=False)
        client.force_login(user)
        response = client.get(url)
        if response.status_code == 200:
            times = timed_ms(lambda: client.get(url), repeat=repeat)
            figure(out, "list_page_http_p50", statistics.median(times), "ms")
            figure(out, "list_page_http_p95", percentile(times, 95), "ms")
            return
        out(f"bench: list page answered {response.status_code}; timing the selector instead")
    from .selectors import person_list

    county = Organisation.objects.get(code="KX654221")
    times = timed_ms(
        lambda: list(
            person_list(user=user).filter(organisation__path__startswith=county.path)[:51]
        ),
        repeat=repeat,
    )
    figure(out, "list_selector_p95", percentile(times, 95), "ms")


def make_import_file(path: str, rows: int, *, seed: int = 777) -> int:
    """An .xlsx of ``rows`` fresh fictional persons in the import template's columns."""
    from kexie.core.xlsx import write_xlsx

    from .exporters import person_export_value
    from .importers import COLUMNS, PersonImporter

    _load_title_levels()
    gen = PersonGenerator(seed=seed, phone_base=5_000_000)
    header = PersonImporter().header_texts()
    keys = [c.key for c in COLUMNS]

    def row_values():
        for _ in range(rows):
            person = gen.person()
            # far-away sequence numbers: no clash with the persons already in the database
            yield [person_export_value(person, key) for key in keys]

    gen.id_sequence = _OffsetCounter(250)
    content = write_xlsx(header, row_values(), sheet_title="persons")
    with open(path, "wb") as handle:
        handle.write(content)
    return len(content)


class _OffsetCounter(dict):
    """An ID sequence counter starting at ``offset`` (fresh sequence numbers for the import
    file, unlikely to collide with the database's)."""

    def __init__(self, offset: int) -> None:
        super().__init__()
        self.offset = offset

    def __missing__(self, key):
        return self.offset


def import_figures(path: str, *, out: Out) -> None:
    """Check and write the file as a trusted operator would (``import_people --commit
    --valid-rows``); rows/s over the whole run, peak memory of this process."""
    from kexie.core.imports import import_apply, import_check
    from kexie.core.xlsx import file_sha256

    from .importers import PersonImporter

    prefecture = Organisation.objects.get(code="KX654200")
    importer = PersonImporter(default_organisation=prefecture)
    before = Person.objects.count()
    start = time.perf_counter()
    with open(path, "rb") as handle:
        sha = file_sha256(handle)
        report = import_check(user=None, importer=importer, fileobj=handle)
    checked = time.perf_counter() - start
    import_apply(
        user=None, importer=importer, report=report, filename="bench.xlsx", sha256=sha, partial=True
    )
    seconds = time.perf_counter() - start
    written = Person.objects.count() - before
    bad = len({e["row"] for e in report.errors})
    figure(out, "import_rows", report.row_count, "rows")
    figure(out, "import_written", written, "rows")
    figure(out, "import_bad_rows", bad, "rows")
    figure(out, "import_check_time", checked, "s")
    figure(out, "import_check_rate", report.row_count / checked, "rows/s")
    figure(out, "import_write_time", seconds - checked, "s")
    figure(out, "import_rate", report.row_count / seconds, "rows/s")
    figure(out, "import_peak_rss", peak_rss_mb(), "MB")


def export_figures(rows: int, *, out: Out) -> None:
    """The export download of ``rows`` persons (masked .xlsx, audited) for the bench user."""
    from kexie.core.exports import export_response

    from .exporters import PersonExporter
    from .selectors import person_list

    user = bench_user()
    ids = list(Person.objects.order_by("id").values_list("id", flat=True)[rows - 1 : rows])
    if not ids:
        ids = [Person.objects.order_by("-id").values_list("id", flat=True).first() or 0]
    queryset = person_list(user=user, action=Action.EXPORT).filter(pk__lte=ids[0])
    start = time.perf_counter()
    response = export_response(
        user=user,
        exporter=PersonExporter(),
        queryset=queryset,
        filters={},
        filename="bench.xlsx",
    )
    seconds = time.perf_counter() - start
    exported = min(rows, Person.objects.filter(pk__lte=ids[0]).count())
    figure(out, "export_rows", exported, "rows")
    figure(out, "export_rate", exported / seconds, "rows/s")
    figure(out, "export_size", len(response.content) / 1e6, "MB")
    figure(out, "export_peak_rss", peak_rss_mb(), "MB")


def setup_database(*, out: Out) -> None:
    """Migrate, load the code tables and the organisation demo tree."""
    from django.core.management import call_command

    from kexie.core.codetables import code_tables_sync
    from kexie.portal.demo import load_demo

    start = time.perf_counter()
    call_command("migrate", verbosity=0)
    code_tables_sync()
    load_demo()
    out(f"  database {connection.vendor} ready ({time.perf_counter() - start:.0f} s)")


def run(
    n: int, *, out: Out, repeat: int = 20, list_repeat: int = 20, today: dt.date | None = None
) -> dict:
    figure(out, "database", connection.vendor, "")
    figure(out, "persons", n, "rows")
    samples = fill(n, out=out)
    search_figures(samples, out=out, repeat=repeat)
    list_page_figures(out=out, repeat=list_repeat)
    return samples


def write_import_file(path: str, rows: int, *, out: Out) -> None:
    start = time.perf_counter()
    size = make_import_file(path, rows)
    out(f"  import file: {rows:,} rows, {size / 1e6:.1f} MB ({time.perf_counter() - start:.0f} s)")
