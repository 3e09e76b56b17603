"""The benchmark's figures are produced (never its timings asserted — STYLE.md 18)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from kexie.core.codetables import code_tables_sync
from kexie.people import bench
from kexie.portal.demo import load_demo


@pytest.mark.django_db
def test_bench_prints_every_figure(tmp_path):
    # given the demo organisations
    code_tables_sync()
    load_demo()
    lines: list[str] = []
    # when the benchmark runs on a tiny registry, import and export included
    bench.run(300, out=lines.append, repeat=1, list_repeat=1)
    path = str(tmp_path / "import.xlsx")
    bench.write_import_file(path, 30, out=lines.append)
    bench.import_figures(path, out=lines.append)
    bench.export_figures(100, out=lines.append)
    # then every figure has a line "bench: <name> <value> <unit>"
    names = {line.split()[1] for line in lines if line.startswith("bench: ")}
    expected = {
        "fill_rate",
        "search_1char_p95",
        "search_2char_p50",
        "search_2char_p95",
        "search_3char_p95",
        "search_pinyin_initials_p95",
        "search_id_exact_p95",
        "search_2char_icontains_p95",
        "search_2char_speedup_p95",
        "import_rate",
        "import_peak_rss",
        "export_rate",
        "export_peak_rss",
    }
    assert expected <= names
    assert names & {"list_page_http_p95", "list_selector_p95"}
    assert "bench: import_written 30 rows" in lines


def test_bench_refuses_a_real_database(settings, monkeypatch):
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "NAME", "/srv/kexie/var/kexie.sqlite3")
    with pytest.raises(CommandError):
        call_command("bench_people", "--inner", "--persons", "1")
