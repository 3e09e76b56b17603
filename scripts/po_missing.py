#!/usr/bin/env python3
"""Print the untranslated and fuzzy msgids of a .po file as a JSON object {msgid: ""}.

Fill in the values and apply them with scripts/po_update.py:
    python scripts/po_missing.py kexie/locale/zh_Hans/LC_MESSAGES/django.po > new.json
"""

from __future__ import annotations

import json
import subprocess
import sys


def missing(po_path: str) -> list[str]:
    ids: list[str] = []
    for flag in ("--untranslated", "--only-fuzzy"):
        out = subprocess.run(  # noqa: S603 - fixed arguments
            ["msgattrib", flag, "--no-wrap", po_path],  # noqa: S607 - a developer tool
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for line in out.splitlines():
            if line.startswith('msgid "') and line != 'msgid ""':
                ids.append(json.loads(line[len("msgid ") :]))
    return list(dict.fromkeys(ids))


if __name__ == "__main__":
    json.dump(dict.fromkeys(missing(sys.argv[1]), ""), sys.stdout, ensure_ascii=False, indent=1)
    print()
