"""Pages of the 系统管理员 (accounts) and the 安全管理员 (role grants, lock-outs) — AC-05..07.

Who may do what comes from ``roles.ROLE_ACTIONS``: no ``MANAGE_ACCOUNTS`` → 403 on the account
pages, no ``GRANT_ROLES`` → 403 on the role pages; an account or assignment outside the user's
scope → 404. Role grants and revocations need a fresh re-authentication (AUTH-09).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from . import admin_selectors as selectors
from . import admin_services
from .admin_forms import (
    AccountCreateForm,
    AccountDisableForm,
    AccountEnableForm,
    RoleGrantForm,
    UnlockForm,
)
from .reauth import reauth_required
from .roles import ADMIN_TRIAD, Action, Role
from .scope import has_action
from .services import activation_path, user_create

PER_PAGE = 50


def require_action(action: str) -> Callable:
    """403 unless the user holds ``action`` somewhere (before any re-authentication prompt)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not has_action(request.user, action):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _page(request: HttpRequest, queryset, query: str):
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    return page, urlencode({"q": query}) if query else ""


# --- 系统管理员: accounts ------------------------------------------------------------------


@require_action(Action.MANAGE_ACCOUNTS)
def user_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:60]
    page, query_string = _page(
        request, selectors.account_list(user=request.user, query=query), query
    )
    return render(
        request,
        "accounts/admin_user_list.html",
        {"page_obj": page, "query": query, "query_string": query_string},
    )


@require_action(Action.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
def user_create_view(request: HttpRequest) -> HttpResponse:
    """AUTH-10: the new account gets an activation link, shown here once, to hand over."""
    form = AccountCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            link = request.build_absolute_uri(activation_path(user))
            return render(
                request, "accounts/admin_user_created.html", {"account": user, "link": link}
            )
    return render(request, "accounts/admin_user_form.html", {"form": form})


@require_action(Action.MANAGE_ACCOUNTS)
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(user=request.user, pk=pk)
    roles = list(account.role_assignments.all())
    return render(
        request,
        "accounts/admin_user_detail.html",
        {
            "account": account,
            "roles": roles,
            "is_self": account.pk == request.user.pk,
            "enable_form": AccountEnableForm(),
        },
    )


@require_action(Action.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
def user_disable_view(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(user=request.user, pk=pk)
    form = AccountDisableForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            changed = admin_services.user_disable(
                actor=request.user, user=account, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            if changed:
                messages.success(request, _("The account is disabled and its sessions ended."))
            else:
                messages.info(request, _("The account was already disabled."))
            return redirect("accounts:admin_user_detail", pk=account.pk)
    return render(request, "accounts/admin_user_disable.html", {"account": account, "form": form})


@require_action(Action.MANAGE_ACCOUNTS)
@require_POST
def user_enable_view(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(user=request.user, pk=pk)
    form = AccountEnableForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        changed = admin_services.user_enable(actor=request.user, user=account, reason=reason)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if changed:
            messages.success(request, _("The account is enabled."))
        else:
            messages.info(request, _("The account was already enabled."))
    return redirect("accounts:admin_user_detail", pk=account.pk)


# --- 安全管理员: role grants and lock-outs ------------------------------------------------------


@require_action(Action.GRANT_ROLES)
def role_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:60]
    assignments = selectors.role_assignment_list(user=request.user, query=query)
    page, query_string = _page(request, assignments, query)
    return render(
        request,
        "accounts/admin_role_list.html",
        {
            "page_obj": page,
            "query": query,
            "query_string": query_string,
            "admin_roles": sorted(ADMIN_TRIAD),
        },
    )


@require_action(Action.GRANT_ROLES)
@reauth_required
@require_http_methods(["GET", "POST"])
def role_grant_view(request: HttpRequest) -> HttpResponse:
    form = RoleGrantForm(request.POST or None, initial={"role": Role.CLERK})
    if request.method == "POST" and form.is_valid():
        try:
            assignment = admin_services.role_grant_by_admin(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        except PermissionDenied:
            form.add_error("organisation_code", _("No organisation with this code in your scope."))
        else:
            messages.success(
                request,
                _("%(user)s is now %(role)s at %(organisation)s.")
                % {
                    "user": assignment.user.username,
                    "role": assignment.get_role_display(),
                    "organisation": assignment.organisation.name,
                },
            )
            return redirect("accounts:admin_role_list")
    return render(request, "accounts/admin_role_grant.html", {"form": form})


@require_action(Action.GRANT_ROLES)
@reauth_required
@require_http_methods(["GET", "POST"])
def role_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = selectors.role_assignment_get(user=request.user, pk=pk)
    error = ""
    if request.method == "POST":
        try:
            admin_services.role_revoke_by_admin(actor=request.user, assignment=assignment)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("The role was revoked."))
            return redirect("accounts:admin_role_list")
    return render(
        request, "accounts/admin_role_revoke.html", {"assignment": assignment, "error": error}
    )


@require_action(Action.UNLOCK_ACCOUNTS)
def unlock_list(request: HttpRequest) -> HttpResponse:
    lockouts = selectors.lockout_list(user=request.user, request=request)
    return render(request, "accounts/admin_unlock_list.html", {"lockouts": lockouts})


@require_action(Action.UNLOCK_ACCOUNTS)
@require_POST
def unlock_view(request: HttpRequest) -> HttpResponse:
    form = UnlockForm(request.POST)
    if not form.is_valid():
        raise PermissionDenied
    username = form.cleaned_data["username"]
    admin_services.account_unlock_by_admin(actor=request.user, username=username, request=request)
    messages.success(request, _("%(username)s can log in again.") % {"username": username})
    return redirect("accounts:admin_unlock_list")


class SecondFactorResetForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("For example: phone lost, identity confirmed in person on …"),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control"


@require_action(Action.UNLOCK_ACCOUNTS)
@require_http_methods(["GET", "POST"])
@reauth_required
def second_factor_reset_view(request: HttpRequest) -> HttpResponse:
    """AUTH-07 / AUTH-09: reset the second factor of a person who lost phone and codes."""
    form = SecondFactorResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            target = admin_services.second_factor_reset_by_admin(
                actor=request.user,
                username=form.cleaned_data["username"],
                reason=form.cleaned_data["reason"],
            )
        except PermissionDenied:
            form.add_error("username", _("No account with this name in your scope."))
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(
                request,
                _("%(username)s sets up a new authenticator at the next login.")
                % {"username": target.username},
            )
            return redirect("accounts:admin_unlock_list")
    return render(request, "accounts/admin_otp_reset.html", {"form": form})
