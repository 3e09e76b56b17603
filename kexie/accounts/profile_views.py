"""My account: who I am, my roles and my phone (masked); changing the phone (AUTH-09) and the
audited reveal of a full number (AC-04). Thin views: the rules live in ``accounts.pii``."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from kexie.core.masking import mask_phone

from .models import RoleAssignment
from .pii import (
    REVEAL_REASON_MAX_LENGTH,
    can_reveal_phone,
    user_get_in_scope,
    user_phone_reveal,
    user_set_phone,
)
from .reauth import is_recently_authenticated, reauth_required


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=gettext_lazy("New mobile number"),
        max_length=32,
        required=False,
        help_text=gettext_lazy("11 digits. Leave empty to remove the number."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].widget.attrs.update(
            {"class": "form-control", "autocomplete": "tel", "inputmode": "tel"}
        )


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=REVEAL_REASON_MAX_LENGTH,
        help_text=gettext_lazy("Why you need the full number; recorded in the audit log."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].widget.attrs.update({"class": "form-control", "autocomplete": "off"})


def _apply_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _safe_next(request: HttpRequest, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("accounts:profile")


@require_GET
def profile_view(request: HttpRequest) -> HttpResponse:
    account = request.user
    assignments = (
        RoleAssignment.objects.filter(user=account)
        .select_related("organisation")
        .order_by("organisation__path", "role")
    )
    return render(
        request,
        "accounts/profile.html",
        {
            "account": account,
            "assignments": assignments,
            "can_reveal": bool(account.phone) and can_reveal_phone(account, account),
            "form": RevealForm(),
            "target": account,
        },
    )


@require_http_methods(["GET", "POST"])
@reauth_required
def profile_phone_view(request: HttpRequest) -> HttpResponse:
    """Change one's own mobile number; needs a re-authentication less than 5 minutes old."""
    account = request.user
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user_set_phone(actor=account, user=account, phone=form.cleaned_data["phone"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Your mobile number has been changed."))
            return redirect("accounts:profile")
    # The field is never pre-filled: the full number would be in the page (PI-05).
    return render(
        request,
        "accounts/profile_phone.html",
        {"form": form, "current_phone": mask_phone(account.phone)},
    )


def _reauth_first(request: HttpRequest, next_url: str) -> HttpResponse:
    target = reverse("accounts:reauth") + "?" + urlencode({"next": next_url})
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)


@require_POST
def user_phone_reveal_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one user's full mobile number once, for a reason, audited (AC-04).

    Outside the actor's scope → 404; in scope without the right → 403 (the refusal is audited);
    the right but no recent re-authentication → to the re-authentication page (AUTH-09).
    """
    target = user_get_in_scope(actor=request.user, pk=pk)
    if not can_reveal_phone(request.user, target):
        # The service records the refusal in the audit log and raises PermissionDenied.
        user_phone_reveal(actor=request.user, user=target, reason="")
    page = request.POST.get("next", "")
    if request.htmx and request.htmx.current_url:
        parts = urlsplit(request.htmx.current_url)
        page = parts.path + (f"?{parts.query}" if parts.query else "")
    next_url = _safe_next(request, page)
    if not is_recently_authenticated(request):
        return _reauth_first(request, next_url)
    form = RevealForm(request.POST)
    context = {"target": target, "form": form, "next": next_url, "shown": False}
    if form.is_valid():
        try:
            context["revealed"] = user_phone_reveal(
                actor=request.user, user=target, reason=form.cleaned_data["reason"]
            )
            context["shown"] = True
        except ValidationError as exc:
            _apply_errors(form, exc)
    template = "accounts/_phone_reveal.html" if request.htmx else "accounts/profile_reveal.html"
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response
