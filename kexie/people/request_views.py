"""Staff pages for data-subject requests (PI-08): the open requests in scope, handling one,
and recording a request made by phone, letter or at the counter (channel staff)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from kexie.accounts.roles import Action
from kexie.accounts.scope import has_action

from .choices import SubjectRequestKind, SubjectRequestStatus
from .registration import (
    organisations_for_requests,
    subject_request_create,
    subject_request_get,
    subject_request_handle,
    subject_request_list,
)
from .selectors import person_get


class HandleForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[
            (SubjectRequestStatus.DONE, SubjectRequestStatus.DONE.label),
            (SubjectRequestStatus.REFUSED, SubjectRequestStatus.REFUSED.label),
        ],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    answer = forms.CharField(
        label=gettext_lazy("Answer to the person"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )


class StaffRequestForm(forms.Form):
    person = forms.IntegerField(
        label=gettext_lazy("Record number"),
        required=False,
        min_value=1,
        help_text=gettext_lazy("Leave empty when the person has no record."),
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )
    organisation = forms.ModelChoiceField(
        label=gettext_lazy("Responsible organisation"),
        queryset=None,
        required=False,
        help_text=gettext_lazy("Needed only when there is no record number."),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Request"),
        choices=SubjectRequestKind.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    details = forms.CharField(
        label=gettext_lazy("Details"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations_for_requests(user)


def _require(request: HttpRequest) -> None:
    if not has_action(request.user, Action.CHANGE):
        raise PermissionDenied


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    _require(request)
    queryset = subject_request_list(user=request.user)
    if request.GET.get("all") != "1":
        queryset = queryset.filter(status=SubjectRequestStatus.OPEN)
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "people/request_list.html",
        {"page_obj": page, "show_all": request.GET.get("all") == "1"},
    )


@require_http_methods(["GET", "POST"])
def request_handle(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    subject_request = subject_request_get(user=request.user, pk=pk)
    form = HandleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subject_request_handle(
                actor=request.user,
                request=subject_request,
                status=form.cleaned_data["status"],
                answer=form.cleaned_data["answer"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The request was handled."))
            return redirect("people:request_list")
    return render(
        request,
        "people/request_handle.html",
        {"subject_request": subject_request, "form": form},
    )


@require_http_methods(["GET", "POST"])
def request_create(request: HttpRequest) -> HttpResponse:
    _require(request)
    form = StaffRequestForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        person = None
        if form.cleaned_data["person"]:
            try:
                person = person_get(
                    user=request.user, pk=form.cleaned_data["person"], action=Action.CHANGE
                )
            except Http404:
                form.add_error("person", _("There is no record with this number in your scope."))
        if not form.errors:
            try:
                subject_request_create(
                    actor=request.user,
                    person=person,
                    kind=form.cleaned_data["kind"],
                    details=form.cleaned_data["details"],
                    organisation=form.cleaned_data["organisation"],
                )
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("The request was recorded."))
                return redirect("people:request_list")
    return render(request, "people/request_create.html", {"form": form})
