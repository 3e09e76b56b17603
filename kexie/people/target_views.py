"""Registration targets and the progress toward them (issue 4 part 7).

The prefecture — a holder of the review right at the top of the tree — sets a target per
county association (and, if it wishes, per township association) per year; everyone with the
view right sees the progress of the associations in their scope: a county user their county
and its townships, the prefecture every county. Out of scope → 404; without the right → 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods

from kexie.accounts.roles import Action
from kexie.accounts.scope import has_action
from kexie.orgs.selectors import organisation_get

from .registration import holds_top_review
from .selectors import progress_units, registration_progress
from .services import target_set
from .target_forms import TargetForm

TARGET_KINDS = ("county_association", "township_association")


def _require_view(request: HttpRequest) -> None:
    if not has_action(request.user, Action.VIEW):
        raise PermissionDenied


def _year(request: HttpRequest) -> int:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        return timezone.localdate().year
    return year if 2000 <= year <= 2100 else timezone.localdate().year


def _county(request: HttpRequest):
    """The county association to drill down into (``?county=<pk>``), or None."""
    raw = request.GET.get("county", "")
    if not raw.isdigit():
        return None
    org = organisation_get(user=request.user, pk=int(raw))
    if org.kind != "county_association":
        raise Http404
    return org


def _context(request: HttpRequest) -> dict:
    year = _year(request)
    county = _county(request)
    units = progress_units(user=request.user, county=county)
    rows = registration_progress(user=request.user, year=year, units=units)
    return {"year": year, "county": county, "rows": rows, "can_set": holds_top_review(request.user)}


@require_GET
def target_list(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    context = _context(request)
    context["years"] = range(context["year"] - 2, context["year"] + 2)
    return render(request, "people/target_list.html", context)


@require_http_methods(["GET", "POST"])
def target_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_view(request)
    organisation = organisation_get(user=request.user, pk=pk)
    if organisation.kind not in TARGET_KINDS:
        raise Http404
    if not holds_top_review(request.user):
        raise PermissionDenied
    year = _year(request)
    current = organisation.registration_targets.filter(year=year).first()
    initial = {"year": year, "target": current.target if current else None}
    form = TargetForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            target_set(
                actor=request.user,
                organisation=organisation,
                year=form.cleaned_data["year"],
                target=form.cleaned_data["target"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(
                request,
                _("Target of %(org)s for %(year)d saved.")
                % {"org": organisation.name, "year": form.cleaned_data["year"]},
            )
            url = reverse("people:target_list") + f"?year={form.cleaned_data['year']}"
            if organisation.kind == "township_association" and organisation.parent_id:
                url += f"&county={organisation.parent_id}"
            return redirect(url)
    return render(
        request,
        "people/target_form.html",
        {"form": form, "organisation": organisation, "year": year},
    )


@require_GET
def progress(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    context = _context(request)
    chart = {
        "labels": [r["organisation"].short_name or r["organisation"].name for r in context["rows"]],
        "target": [r["target"] or 0 for r in context["rows"]],
        "verified": [r["verified"] for r in context["rows"]],
        "complete": [r["complete_percent"] or 0 for r in context["rows"]],
        "stale": [r["stale_percent"] or 0 for r in context["rows"]],
        "names": {
            "target": _("Target"),
            "verified": pgettext("review status", "Verified"),
            "complete": _("Complete share"),
            "stale": _("Stale share"),
        },
    }
    context["chart"] = chart
    context["years"] = range(context["year"] - 3, context["year"] + 1)
    return render(request, "people/progress.html", context)
