"""The review queue of self-registrations and other pending records (REG-02).

County reviewers decide the records in their scope (level 1); with two review levels, a holder
of the review right at the top of the tree then decides at level 2. Out of scope → 404; without
the review right → 403. The service writes the review step and the audit event.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kexie.accounts.roles import Action
from kexie.accounts.scope import has_action

from .choices import ReviewDecision
from .registration import holds_top_review, with_duplicate_hint
from .selectors import person_get, review_counts, review_queue
from .services import person_review


def _require_review(request: HttpRequest) -> None:
    if not has_action(request.user, Action.REVIEW):
        raise PermissionDenied


@require_GET
def review_queue_view(request: HttpRequest) -> HttpResponse:
    _require_review(request)
    level = 2 if request.GET.get("level") == "2" else 1
    top = holds_top_review(request.user)
    if level == 2 and not top:
        raise PermissionDenied
    queryset = with_duplicate_hint(review_queue(user=request.user, level=level))
    page = Paginator(queryset, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "people/review_queue.html",
        {
            "page_obj": page,
            "level": level,
            "show_level_2": top,
            "counts": review_counts(user=request.user),
            "decisions": ReviewDecision,
        },
    )


@require_POST
def review_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _require_review(request)
    person = person_get(user=request.user, pk=pk, action=Action.REVIEW)
    decision = request.POST.get("decision", "")
    level = person.review_level + 1
    try:
        person_review(
            actor=request.user,
            person=person,
            decision=decision,
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        labels = {
            ReviewDecision.APPROVE: _("Approved: %(name)s."),
            ReviewDecision.RETURN: _("Returned for correction: %(name)s."),
            ReviewDecision.REJECT: _("Rejected: %(name)s."),
        }
        messages.success(request, labels[decision] % {"name": person.name})
    url = "people:review_queue"
    response = redirect(url)
    if request.POST.get("level") == "2" or level == 2:
        response["Location"] += "?level=2"
    return response
