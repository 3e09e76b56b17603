"""Settings for a developer's or a county office's single machine (``make run``).

Keys come from the environment or are generated once into ``var/keys.json``.
"""

from .base import *  # noqa: F403
from .keys import load_local_keys

_keys = load_local_keys(VAR_DIR)
SECRET_KEY = _keys["SECRET_KEY"]
KEXIE_FIELD_KEYS = _keys["KEXIE_FIELD_KEYS"]
KEXIE_BLIND_INDEX_KEY = _keys["KEXIE_BLIND_INDEX_KEY"]
KEXIE_AUDIT_KEY = _keys["KEXIE_AUDIT_KEY"]

KEXIE_DEMO = env_bool("KEXIE_DEMO", True)
# The demo runs without a second factor (its banner says so); set KEXIE_REQUIRE_2FA=1 to try it.
KEXIE_REQUIRE_2FA = env_bool("KEXIE_REQUIRE_2FA", not KEXIE_DEMO)
