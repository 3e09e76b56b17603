"""Staff pages of the talent registry (人才库): list, search, detail, create, edit, reveal,
confirm and contacts. Thin: fetch through selectors, write through services.

Out of scope → 404 (``selectors.person_get``); in scope without the right → 403. ID numbers and
phones never travel in a URL (API-06): the search box posts, and sensitive results are rendered
in the answer to the POST.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from kexie.accounts.reauth import is_recently_authenticated
from kexie.accounts.roles import Action
from kexie.accounts.scope import can, has_action
from kexie.core.audit import audit_log
from kexie.core.masking import mask_email, mask_id_number, mask_phone

from . import selectors, services
from .filters import PersonFilterSet
from .forms import ContactForm, PersonForm, RevealForm
from .models import Person
from .search import route_query
from .tables import PersonTable, code_name

PER_PAGE = 50
SEARCH_RESULT_LIMIT = 50
_MASKS = {"id_number": mask_id_number, "phone": mask_phone, "email": mask_email}


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _get_for(request: HttpRequest, pk: int, action: str) -> Person:
    """Out of scope → 404 (as if it did not exist); in scope without the right → 403."""
    person = selectors.person_get(user=request.user, pk=pk)
    if not can(request.user, action, person.organisation):
        raise PermissionDenied
    return person


def keep_out_of_urls(raw: str) -> bool:
    """API-06: ID numbers and phones never travel in a URL — nor anything that looks like a
    part of one (seven digits or more in a row, e.g. an ID number without its last character)."""
    routed = route_query(raw)
    return routed.is_sensitive or bool(_LONG_NUMBER.search(raw or ""))


_LONG_NUMBER = re.compile(r"\d{7,}")


def _require(user, action: str) -> None:
    if not has_action(user, action):
        raise PermissionDenied


# --- list and search ---------------------------------------------------------------------------


@require_GET
def person_list(request: HttpRequest) -> HttpResponse:
    """The filterable table; its query string also drives the export link. Pagination does not
    count the rows (LazyPaginator): the registry has hundreds of thousands."""
    _require(request.user, Action.VIEW)
    if keep_out_of_urls(request.GET.get("q", "")):
        # API-06: an ID number or a phone in the URL is not looked up, and not echoed back in
        # the page's links either: the list is shown again without it.
        messages.warning(
            request,
            _("ID numbers and mobile numbers can only be searched with the search box."),
        )
        params = [(k, v) for k, v in request.GET.items() if k not in ("q", "page")]
        url = reverse("people:person_list")
        return redirect(f"{url}?{urlencode(params)}" if params else url)
    filterset = PersonFilterSet(
        request.GET or None,
        queryset=selectors.person_list(user=request.user),
        user=request.user,
    )
    table = PersonTable(filterset.qs)
    RequestConfig(
        request, paginate={"per_page": PER_PAGE, "paginator_class": LazyPaginator}
    ).configure(table)
    query = request.GET.get("q", "")[:40]
    return render(
        request,
        "people/person_list.html",
        {
            "filterset": filterset,
            "table": table,
            "query": query,
            "carried": _carried_filters(request.GET),
            "export_query": request.GET.urlencode(),
            "can_create": has_action(request.user, Action.CREATE),
            "can_export": has_action(request.user, Action.EXPORT),
            "can_import": has_action(request.user, Action.IMPORT),
            "can_review": has_action(request.user, Action.REVIEW),
            "can_change": has_action(request.user, Action.CHANGE),
        },
    )


def _carried_filters(params) -> list[tuple[str, str]]:
    """The list's filters other than ``q`` and paging, to carry through the search box."""
    names = set(PersonFilterSet.base_filters) - {"q"}
    return [(k, v) for k, v in params.items() if k in names and v]


@require_POST
def person_search(request: HttpRequest) -> HttpResponse:
    """The search box. A name or pinyin goes back to the list as ``?q=``; an ID number or a
    mobile number is looked up here and the (masked) result rendered in this answer (API-06)."""
    _require(request.user, Action.VIEW)
    raw = request.POST.get("q", "")
    routed = route_query(raw)
    carried = _carried_filters(request.POST)
    if not keep_out_of_urls(raw):
        params = ([("q", raw.strip()[:40])] if routed.kind != "empty" else []) + carried
        url = reverse("people:person_list")
        return redirect(f"{url}?{urlencode(params)}" if params else url)
    filterset = PersonFilterSet(
        dict(carried) or None,
        queryset=selectors.person_list(user=request.user),
        user=request.user,
    )
    results = selectors.person_search(user=request.user, query=routed, queryset=filterset.qs)
    rows = list(results.order_by("-id")[:SEARCH_RESULT_LIMIT])
    if routed.is_sensitive:
        # Who looked up an ID number or phone, and how many records it found; never the value.
        audit_log(
            actor=request.user,
            event_type="person.search_sensitive",
            object_type="people.person",
            details={"kind": routed.kind, "found": len(rows)},
        )
    table = PersonTable(rows, orderable=False)
    return render(
        request,
        "people/person_search.html",
        {
            "table": table,
            "kind": routed.kind,
            "masked_query": _masked_query(routed),
            "carried": carried,
        },
    )


def _masked_query(routed) -> str:
    if routed.kind == "id":
        return mask_id_number(routed.value)
    if routed.kind == "phone":
        return mask_phone(routed.value)
    return ""


# --- detail ------------------------------------------------------------------------------------


def _display(person: Person, name: str) -> str:
    """One field of ``person`` as shown on the detail page: code names, choice labels."""
    if name in services.CODE_FIELDS:
        return code_name(services.CODE_FIELDS[name], getattr(person, name))
    if name == "employer":
        return person.employer_name
    if name == "township":
        if not person.township_id:
            return ""
        return person.township.name
    if name in ("title_level", "employer_category"):
        return getattr(person, f"get_{name}_display")()
    value = getattr(person, name)
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _detail_context(request: HttpRequest, person: Person, **extra) -> dict:
    today = timezone.localdate()
    can_change = can(request.user, Action.CHANGE, person.organisation)
    can_reveal = services.can_reveal(request.user, person)
    rows = [
        (PersonForm.base_fields[name].label, _display(person, name))
        for name in services.PERSON_FIELDS
        if name not in services.SENSITIVE_FIELDS and name != "employer_text"
    ]
    sensitive = [
        {
            "field": name,
            "label": PersonForm.base_fields[name].label,
            "masked": _MASKS[name](getattr(person, name)),
            "form": RevealForm(initial={"field": name}, auto_id=f"id_{name}_%s"),
        }
        for name in services.SENSITIVE_FIELDS
    ]
    return {
        "person": person,
        "rows": rows,
        "sensitive": sensitive,
        "is_stale": person.is_stale(today),
        "needs_confirmation": person.needs_confirmation(today),
        "reviews": person.reviews.select_related("reviewer").order_by("-id"),
        "contacts": person.contacts.select_related("contacted_by").order_by("-on_date", "-id"),
        "can_change": can_change,
        "can_reveal": can_reveal,
        "contact_form": extra.pop("contact_form", None) or (ContactForm() if can_change else None),
        **extra,
    }


@require_GET
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.person_get(user=request.user, pk=pk)
    return render(request, "people/person_detail.html", _detail_context(request, person))


@require_POST
def person_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    person = _get_for(request, pk, Action.CHANGE)
    services.person_confirm(actor=request.user, person=person)
    messages.success(request, _("The data was recorded as confirmed today."))
    return redirect("people:person_detail", pk=person.pk)


@require_POST
def person_contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    person = _get_for(request, pk, Action.CHANGE)
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            services.contact_add(actor=request.user, person=person, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Contact recorded."))
            return redirect("people:person_detail", pk=person.pk)
    context = _detail_context(request, person, contact_form=form)
    return render(request, "people/person_detail.html", context)


@require_POST
def person_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one full ID number, phone or e-mail once, for a reason, audited (AC-04).

    Outside the actor's scope → 404; in scope without the right → 403 (the refusal is audited);
    the right but no recent re-authentication → to the re-authentication page (AUTH-09).
    """
    person = selectors.person_get(user=request.user, pk=pk)
    form = RevealForm(request.POST)
    field = request.POST.get("field", "")
    if field not in services.SENSITIVE_FIELDS:
        field = "id_number"
    if not services.can_reveal(request.user, person):
        # The service records the refusal in the audit log and raises PermissionDenied.
        services.person_reveal(actor=request.user, person=person, field_name=field, reason="")
    next_url = reverse("people:person_detail", args=[person.pk])
    if not is_recently_authenticated(request):
        target = reverse("accounts:reauth") + "?" + urlencode({"next": next_url})
        if request.htmx:
            return HttpResponseClientRedirect(target)
        return redirect(target)
    context = {
        "person": person,
        "item": {
            "field": field,
            "label": PersonForm.base_fields[field].label,
            "masked": _MASKS[field](getattr(person, field)),
            "form": form,
        },
        "shown": False,
        "next": next_url,
        "can_reveal": True,
    }
    if form.is_valid():
        try:
            context["revealed"] = services.person_reveal(
                actor=request.user,
                person=person,
                field_name=form.cleaned_data["field"],
                reason=form.cleaned_data["reason"],
            )
            context["shown"] = True
        except ValidationError as exc:
            _apply_errors(form, exc)
    template = "people/_person_reveal.html" if request.htmx else "people/person_reveal.html"
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


# --- create and edit ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def person_create(request: HttpRequest) -> HttpResponse:
    _require(request.user, Action.CREATE)
    form = PersonForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.person_create(
                actor=request.user, organisation=None, data=form.service_data()
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        except PermissionDenied:
            form.add_error(
                "township", _("You may not register persons for the township's association.")
            )
        else:
            messages.success(request, _("Person registered."))
            return redirect("people:person_detail", pk=person.pk)
    return render(request, "people/person_form.html", {"form": form, "person": None})


@require_http_methods(["GET", "POST"])
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = _get_for(request, pk, Action.CHANGE)
    form = PersonForm(
        request.POST or None,
        initial=PersonForm.initial_for(person),
        user=request.user,
        person=person,
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.person_update(
                actor=request.user, person=person, data=form.service_data()
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        except PermissionDenied:
            form.add_error(
                "township", _("You may not move the record to the township's association.")
            )
        else:
            if changed:
                messages.success(request, _("Changes saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("people:person_detail", pk=person.pk)
    return render(request, "people/person_form.html", {"form": form, "person": person})
