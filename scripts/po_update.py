#!/usr/bin/env python3
"""Set translations in a .po file from a JSON object {msgid: msgstr}, clearing `fuzzy`.

Used after `make messages` to fill the new entries:
    python scripts/po_update.py kexie/locale/zh_Hans/LC_MESSAGES/django.po new.json
Only single-line msgids (the common case) are matched; plural entries get msgstr[0]. An entry
with a context (pgettext) is matched by the key "context\u0004msgid" only.
"""

from __future__ import annotations

import json
import re
import sys


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _unquote(line: str) -> str:
    body = line.strip()[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def update(po_path: str, mapping: dict[str, str]) -> int:
    with open(po_path, encoding="utf-8") as fh:
        blocks = fh.read().split("\n\n")
    changed = 0
    for i, block in enumerate(blocks):
        lines = block.split("\n")
        msgid_lines: list[str] = []
        context = ""
        in_id = False
        for line in lines:
            if line.startswith("msgctxt "):
                context = _unquote(line[8:])
            if line.startswith("msgid "):
                in_id = True
                msgid_lines = [line[6:]]
            elif in_id and line.startswith('"'):
                msgid_lines.append(line)
            else:
                in_id = False if not line.startswith("msgid") else in_id
        msgid = "".join(_unquote(part) for part in msgid_lines)
        if context:
            msgid = f"{context}\u0004{msgid}"
        if not msgid or msgid not in mapping:
            continue
        translated = _quote(mapping[msgid])
        out: list[str] = []
        skip = False
        for line in lines:
            if line.startswith("#,") and "fuzzy" in line:
                flags = [f.strip() for f in line[2:].split(",") if f.strip() != "fuzzy"]
                if flags:
                    out.append("#, " + ", ".join(flags))
                continue
            if line.startswith("#| "):
                continue
            if line.startswith("msgstr"):
                key = line.split(" ", 1)[0]
                out.append(f"{key} {translated}")
                skip = True
                continue
            if skip and line.startswith('"'):
                continue
            skip = False
            out.append(line)
        blocks[i] = "\n".join(out)
        changed += 1
    with open(po_path, "w", encoding="utf-8") as fh:
        fh.write("\n\n".join(blocks))
    return changed


if __name__ == "__main__":
    path, mapping_file = sys.argv[1], sys.argv[2]
    with open(mapping_file, encoding="utf-8") as fh:
        count = update(path, json.load(fh))
    print(f"{count} entries updated")
