"""Duplicate queue, side-by-side comparison, merge, dismiss and undo (REG-03)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from kexie.accounts.roles import Action
from kexie.accounts.scope import has_action
from kexie.core.masking import mask_email, mask_id_number, mask_phone

from .dedup import (
    COMBINABLE_FIELDS,
    FROM_BOTH,
    FROM_KEPT,
    FROM_MERGED,
    default_choices,
    duplicate_dismiss,
    duplicate_get,
    duplicate_list,
    merge_log_get,
    merge_log_list,
    merge_not_chosen,
    person_merge,
    person_merge_undo,
)
from .models import Person
from .services import CODE_FIELDS, PERSON_FIELDS, code_entries

_MASKS = {"id_number": mask_id_number, "phone": mask_phone, "email": mask_email}


def _require(request: HttpRequest) -> None:
    if not has_action(request.user, Action.CHANGE):
        raise PermissionDenied


def shown_value(name: str, value, person: Person | None = None) -> str:
    """A field's value as the merge pages show it: masked, codes as their names."""
    if value in (None, ""):
        return ""
    if name in _MASKS:
        return _MASKS[name](value)
    if name in CODE_FIELDS:
        entry = code_entries(CODE_FIELDS[name]).get(str(value))
        return entry.name if entry is not None else str(value)
    if name in ("employer", "township") and person is not None:
        related = getattr(person, name)
        return str(related) if related is not None else ""
    return str(value)


def _label(name: str) -> str:
    return str(Person._meta.get_field(name).verbose_name)


@require_GET
def duplicate_list_view(request: HttpRequest) -> HttpResponse:
    _require(request)
    page = Paginator(duplicate_list(user=request.user), 50).get_page(request.GET.get("page"))
    merges = merge_log_list(user=request.user)[:20]
    return render(request, "people/duplicate_list.html", {"page_obj": page, "merges": merges})


@require_GET
def duplicate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    candidate = duplicate_get(user=request.user, pk=pk)
    first, second = candidate.first, candidate.second
    defaults = default_choices(first, second)
    rows = []
    for name in PERSON_FIELDS:
        field = Person._meta.get_field(name)
        a = getattr(first, field.attname)
        b = getattr(second, field.attname)
        rows.append(
            {
                "name": name,
                "label": _label(name),
                "first": shown_value(name, a, first),
                "second": shown_value(name, b, second),
                "differs": (a or "") != (b or ""),
                "choice": defaults.get(name, "first"),
                "combinable": name in COMBINABLE_FIELDS,
            }
        )
    return render(
        request,
        "people/duplicate_detail.html",
        {"candidate": candidate, "first": first, "second": second, "rows": rows},
    )


@require_POST
def duplicate_merge(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    candidate = duplicate_get(user=request.user, pk=pk)
    first, second = candidate.first, candidate.second
    keep_first = request.POST.get("keep", "first") != "second"
    kept, merged = (first, second) if keep_first else (second, first)
    choices = {}
    for name in PERSON_FIELDS:
        picked = request.POST.get(f"field_{name}")
        if picked == "both" and name in COMBINABLE_FIELDS:
            choices[name] = FROM_BOTH
        elif picked in ("first", "second"):
            choices[name] = FROM_KEPT if (picked == "first") == keep_first else FROM_MERGED
    try:
        log = person_merge(
            actor=request.user, kept=kept, merged=merged, choices=choices, candidate=candidate
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("people:duplicate_detail", pk=candidate.pk)
    messages.success(request, gettext("The records were merged."))
    return redirect("people:merge_detail", pk=log.pk)


@require_POST
def duplicate_dismiss_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    candidate = duplicate_get(user=request.user, pk=pk)
    try:
        duplicate_dismiss(actor=request.user, candidate=candidate)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, gettext("The pair was marked as two different persons."))
    return redirect("people:duplicate_list")


@require_GET
def merge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    log = merge_log_get(user=request.user, pk=pk)
    rows = []
    for item in merge_not_chosen(log):
        name = item["field"]
        rows.append(
            {
                "label": _label(name),
                "kept": shown_value(name, item["kept"]),
                "merged": shown_value(name, item["merged"]),
                "chosen": item["chosen"],
            }
        )
    return render(request, "people/merge_detail.html", {"log": log, "rows": rows})


@require_POST
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    log = merge_log_get(user=request.user, pk=pk)
    try:
        person_merge_undo(actor=request.user, log=log)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, gettext("The merge was undone."))
    return redirect("people:merge_detail", pk=log.pk)
