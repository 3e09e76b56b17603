"""Local key material: generated once into ``var/`` for a developer machine, never committed.

Production reads every key from the environment (see ``production.py``); this module only
exists so that ``make run`` works on a fresh machine without anyone inventing secrets by hand.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

KEY_NAMES = ("SECRET_KEY", "KEXIE_FIELD_KEYS", "KEXIE_BLIND_INDEX_KEY", "KEXIE_AUDIT_KEY")


def _new_key_material() -> dict[str, str]:
    def b64() -> str:
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()

    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        # "key-id:base64" pairs, the first one encrypts; the others only decrypt (rotation).
        "KEXIE_FIELD_KEYS": f"k1:{b64()}",
        "KEXIE_BLIND_INDEX_KEY": b64(),
        "KEXIE_AUDIT_KEY": b64(),
    }


def load_local_keys(var_dir: Path) -> dict[str, str]:
    """Return key material from the environment, falling back to ``var/keys.json``.

    The file is created with mode 0600 the first time; every key is distinct.
    """
    path = var_dir / "keys.json"
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
    missing = [name for name in KEY_NAMES if name not in stored]
    if missing:
        fresh = _new_key_material()
        for name in missing:
            stored[name] = fresh[name]
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(stored, fh, indent=2)
    return {name: os.environ.get(name) or stored[name] for name in KEY_NAMES}
