"""My sessions (SES-05): where one is logged in, and ending the sessions one does not know."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from .security import (
    active_sessions,
    describe_user_agent,
    session_key_hash,
    user_session_end,
    user_sessions_end,
)


def _current_hash(request) -> str:
    return session_key_hash(request.session.session_key or "")


@require_GET
def session_list(request):
    current = _current_hash(request)
    rows = [
        {
            "session": session,
            "current": session.session_key_hash == current,
            "browser": describe_user_agent(session.user_agent),
        }
        for session in active_sessions(request.user)
    ]
    others = sum(1 for row in rows if not row["current"])
    return render(request, "accounts/sessions.html", {"rows": rows, "others": others})


@require_POST
def session_end(request, pk: int):
    # Only one's own sessions, and not this one (that is what "Log out" is for): 404 otherwise.
    sessions = active_sessions(request.user).exclude(session_key_hash=_current_hash(request))
    session = get_object_or_404(sessions, pk=pk)
    user_session_end(actor=request.user, user_session=session, reason="user")
    messages.success(request, _("The session has been ended."))
    return redirect("accounts:session_list")


@require_POST
def session_end_others(request):
    ended = user_sessions_end(
        user=request.user,
        except_session_key=request.session.session_key,
        reason="user",
        actor=request.user,
    )
    text = ngettext("%(count)d other session ended.", "%(count)d other sessions ended.", ended)
    messages.success(request, text % {"count": ended})
    return redirect("accounts:session_list")
