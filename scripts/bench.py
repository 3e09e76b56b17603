#!/usr/bin/env python
"""Benchmarks (`make bench`): subtree queries on a large synthetic organisation tree, then the
talent registry (`manage.py bench_people`: quick mode, 20,000 persons, unless BENCH_PERSONS
gives the size, e.g. BENCH_PERSONS=1000000; BENCH_PEOPLE_DB=sqlite|postgres|both).

Prints figures and ratios; never asserts timings (STYLE.md 18). Uses its own database:
a temporary SQLite file, or PostgreSQL when BENCH_DATABASE_URL is set (a scratch database
that will be migrated and filled).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_tmp = tempfile.mkdtemp(prefix="kexie-bench-")
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{_tmp}/bench.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kexie.settings.test")
VILLAGES_PER_TOWNSHIP = int(os.environ.get("BENCH_VILLAGES", "800"))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from kexie.accounts.models import User  # noqa: E402
from kexie.accounts.services import role_grant  # noqa: E402
from kexie.core.codetables import code_tables_sync  # noqa: E402
from kexie.core.models import Region  # noqa: E402
from kexie.orgs.models import Organisation  # noqa: E402
from kexie.orgs.tree import segment  # noqa: E402


def build_tree() -> None:
    """Prefecture → 7 counties → their townships → N synthetic villages per township."""
    regions = {r.code: r for r in Region.objects.all()}
    rows: list[Organisation] = []
    root = Organisation(
        name="塔城地区科协",
        kind="prefecture_association",
        code="KX654200",
        region=regions["654200"],
        path=segment(1),
        depth=1,
    )
    rows.append(root)
    counties = [r for r in regions.values() if r.level == "county" and not r.valid_to]
    for ci, county in enumerate(sorted(counties, key=lambda r: r.code), start=1):
        cpath = root.path + segment(ci)
        rows.append(
            Organisation(
                name=f"{county.name}科协",
                kind="county_association",
                code=f"KX{county.code}",
                region=county,
                path=cpath,
                depth=2,
            )
        )
        towns = sorted(
            (r for r in regions.values() if r.parent_id == county.pk), key=lambda r: r.code
        )
        for ti, town in enumerate(towns, start=1):
            tpath = cpath + segment(ti)
            rows.append(
                Organisation(
                    name=f"{town.name}科协",
                    kind="township_association",
                    code=f"KX{town.code}",
                    region=town,
                    path=tpath,
                    depth=3,
                )
            )
            for vi in range(1, VILLAGES_PER_TOWNSHIP + 1):
                rows.append(
                    Organisation(
                        name=f"{town.name}第{vi}村科普站",
                        kind="village",
                        code=f"V{town.code}{vi:04d}",
                        region=town,
                        path=tpath + segment(vi),
                        depth=4,
                    )
                )
    with transaction.atomic():
        Organisation.objects.bulk_create(rows, batch_size=5000)
    # parent links, in SQL-free Python over paths (bench set-up only)
    by_path = dict(Organisation.objects.values_list("path", "pk"))
    updates = []
    for org in Organisation.objects.only("pk", "path").iterator(chunk_size=5000):
        if len(org.path) > 5:
            org.parent_id = by_path[org.path[:-5]]
            updates.append(org)
    with transaction.atomic():
        Organisation.objects.bulk_update(updates, ["parent"], batch_size=5000)


def timed(func, repeat: int = 15) -> float:
    func()  # warm the cache
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    call_command("migrate", verbosity=0)
    code_tables_sync()
    t0 = time.perf_counter()
    build_tree()
    total = Organisation.objects.count()
    print(
        f"database: {connection.vendor}; organisations: {total:,} "
        f"(built in {time.perf_counter() - t0:.1f} s)"
    )
    county = Organisation.objects.get(code="KX654221")
    town = Organisation.objects.get(code="KX654221100000")
    user = User.objects.create_user(username="bench_county")
    role_grant(actor=None, user=user, organisation=county, role="viewer")

    def range_query(org):
        return lambda: list(Organisation.objects.subtree_of(org).values_list("pk", flat=True))

    def like_query(org):
        return lambda: list(
            Organisation.objects.filter(path__startswith=org.path).values_list("pk", flat=True)
        )

    def python_walk(org):
        def walk():
            found, frontier = [org.pk], [org.pk]
            while frontier:
                frontier = list(
                    Organisation.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
                )
                found.extend(frontier)
            return found

        return walk

    def scoped_page():
        fresh = User.objects.get(pk=user.pk)
        return list(Organisation.objects.visible_to(fresh).order_by("path")[:50])

    print(f"{'query':<44}{'rows':>9}{'median ms':>12}{'vs range':>10}")
    for label, org in (("county subtree (额敏县)", county), ("township subtree (额敏镇)", town)):
        n = len(range_query(org)())
        base = timed(range_query(org))
        like = timed(like_query(org))
        walk = timed(python_walk(org), repeat=5)
        print(f"{label + ': range on path index':<44}{n:>9,}{base:>12.2f}{1:>10.1f}")
        print(f"{label + ': LIKE prefix':<44}{n:>9,}{like:>12.2f}{like / base:>10.1f}")
        print(f"{label + ': recursion in Python':<44}{n:>9,}{walk:>12.2f}{walk / base:>10.1f}")
    page = timed(scoped_page)
    print(f"{'first page of a county user (visible_to)':<44}{50:>9}{page:>12.2f}")
    people_benchmark()


def people_benchmark() -> None:
    """The registry benchmark, in its own scratch databases (SQLite under var/bench/, and
    PostgreSQL ``kexie_bench`` when reachable)."""
    persons = os.environ.get("BENCH_PERSONS", "")
    args = ["--persons", persons] if persons else ["--quick"]
    args += ["--database", os.environ.get("BENCH_PEOPLE_DB", "both")]
    sys.stdout.flush()
    call_command("bench_people", *args)


if __name__ == "__main__":
    main()
