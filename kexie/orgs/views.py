"""Pages of the organisation tree. Thin: fetch through selectors, write through services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_tables2 import RequestConfig

from kexie.accounts.roles import Action
from kexie.accounts.scope import can, has_action

from . import selectors, services
from .filters import OrganisationFilterSet
from .forms import DissolveForm, MoveForm, OrganisationForm
from .models import Organisation
from .tables import OrganisationTable


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _actions(user, org: Organisation) -> dict[str, bool]:
    return {
        "can_create": org.is_active and can(user, Action.CREATE, org),
        "can_change": can(user, Action.CHANGE, org),
        "can_move": org.parent_id is not None and can(user, Action.MOVE, org),
        "can_dissolve": org.is_active
        and org.parent_id is not None
        and can(user, Action.DISSOLVE, org),
        "can_export": can(user, Action.EXPORT, org),
    }


def _get_for(request: HttpRequest, pk: int, action: str) -> Organisation:
    """Out of scope → 404 (as if it did not exist); in scope without the right → 403."""
    org = selectors.organisation_get(user=request.user, pk=pk)
    if not can(request.user, action, org):
        raise PermissionDenied
    return org


@require_GET
def organisation_tree(request: HttpRequest) -> HttpResponse:
    if not has_action(request.user, Action.VIEW):
        raise PermissionDenied
    roots = selectors.organisation_roots(user=request.user)
    return render(
        request,
        "orgs/organisation_tree.html",
        {
            "roots": roots,
            "can_import": has_action(request.user, Action.IMPORT),
            "can_export": has_action(request.user, Action.EXPORT),
        },
    )


@require_GET
def organisation_list_view(request: HttpRequest) -> HttpResponse:
    """The filterable table; its query string also drives the export link."""
    if not has_action(request.user, Action.VIEW):
        raise PermissionDenied
    filterset = OrganisationFilterSet(
        request.GET or None,
        queryset=selectors.organisation_list(user=request.user),
        user=request.user,
    )
    table = OrganisationTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(
        request,
        "orgs/organisation_list.html",
        {
            "filterset": filterset,
            "table": table,
            "export_query": request.GET.urlencode(),
            "can_export": has_action(request.user, Action.EXPORT),
        },
    )


@require_GET
def organisation_children(request: HttpRequest, pk: int) -> HttpResponse:
    parent = selectors.organisation_get(user=request.user, pk=pk)
    children = selectors.organisation_children(user=request.user, parent=parent)
    return render(request, "orgs/_tree_children.html", {"parent": parent, "children": children})


@require_GET
def organisation_search(request: HttpRequest) -> HttpResponse:
    if not has_action(request.user, Action.VIEW):
        raise PermissionDenied
    query = request.GET.get("q", "")[:60]
    results = selectors.organisation_search(user=request.user, query=query)
    template = "orgs/_search_results.html" if request.htmx else "orgs/organisation_search.html"
    return render(request, template, {"query": query, "results": results})


@require_GET
def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    org = selectors.organisation_get(user=request.user, pk=pk)
    ancestors = selectors.organisation_list(user=request.user).filter(path__in=org.ancestor_paths())
    return render(
        request,
        "orgs/organisation_detail.html",
        {"org": org, "ancestors": ancestors, **_actions(request.user, org)},
    )


@require_http_methods(["GET", "POST"])
def organisation_create(request: HttpRequest) -> HttpResponse:
    parent_pk = request.GET.get("parent") or request.POST.get("parent")
    if not (parent_pk or "").isdigit():
        raise PermissionDenied
    parent = selectors.organisation_get(user=request.user, pk=int(parent_pk))
    if not can(request.user, Action.CREATE, parent):
        raise PermissionDenied
    form = OrganisationForm(request.POST or None, parent=parent)
    if request.method == "POST" and form.is_valid():
        try:
            org = services.organisation_create(
                actor=request.user, parent=parent, **form.cleaned_data
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Organisation created."))
            return redirect("orgs:organisation_detail", pk=org.pk)
    return render(
        request, "orgs/organisation_form.html", {"form": form, "parent": parent, "org": None}
    )


@require_http_methods(["GET", "POST"])
def organisation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    org = _get_for(request, pk, Action.CHANGE)
    initial = {field: getattr(org, field) for field in services.EDITABLE_FIELDS}
    form = OrganisationForm(request.POST or None, initial=initial, parent=org.parent)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.organisation_update(
                actor=request.user, organisation=org, data=form.cleaned_data
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            if changed:
                messages.success(request, _("Changes saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("orgs:organisation_detail", pk=org.pk)
    return render(
        request, "orgs/organisation_form.html", {"form": form, "parent": org.parent, "org": org}
    )


@require_http_methods(["GET", "POST"])
def organisation_move(request: HttpRequest, pk: int) -> HttpResponse:
    org = _get_for(request, pk, Action.MOVE)
    form = MoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["new_parent_code"].strip().upper()
        target = (
            selectors.organisation_list(user=request.user, action=Action.MOVE)
            .filter(code=code)
            .first()
        )
        if target is None:
            form.add_error(
                "new_parent_code",
                _("No organisation with this code in your scope."),
            )
        else:
            try:
                services.organisation_move(actor=request.user, organisation=org, new_parent=target)
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("Organisation moved."))
                return redirect("orgs:organisation_detail", pk=org.pk)
    return render(request, "orgs/organisation_move.html", {"form": form, "org": org})


@require_http_methods(["GET", "POST"])
def organisation_dissolve(request: HttpRequest, pk: int) -> HttpResponse:
    org = _get_for(request, pk, Action.DISSOLVE)
    form = DissolveForm(request.POST or None, initial={"on_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.organisation_dissolve(
                actor=request.user,
                organisation=org,
                on_date=form.cleaned_data["on_date"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Organisation dissolved."))
            return redirect("orgs:organisation_detail", pk=org.pk)
    return render(request, "orgs/organisation_dissolve.html", {"form": form, "org": org})
