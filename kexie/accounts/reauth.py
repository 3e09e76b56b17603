"""AUTH-09: sensitive actions need a recent re-authentication (less than five minutes old).

``@reauth_required`` sends the person to the re-authentication page and back. The page asks
for the password (and, where the account has a second factor, a code — see otp views).
"""

from __future__ import annotations

import time
from functools import wraps
from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

SESSION_KEY = "kexie_reauth_at"
REAUTH_MAX_AGE_SECONDS = 5 * 60


def mark_reauthenticated(request) -> None:
    request.session[SESSION_KEY] = int(time.time())


def is_recently_authenticated(request, max_age: int = REAUTH_MAX_AGE_SECONDS) -> bool:
    stamp = request.session.get(SESSION_KEY)
    return bool(stamp) and time.time() - int(stamp) < max_age


def reauth_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_recently_authenticated(request):
            target = reverse("accounts:reauth") + "?" + urlencode({"next": request.get_full_path()})
            return redirect(target)
        return view(request, *args, **kwargs)

    return wrapper
