"""System pages: parameters (系统管理员 / 安全管理员) and backups (系统管理员) — AC-06, BAK-01.

Both concern the whole instance, so they need the right at the top of the organisation tree
(``holds_instance_wide``); anyone else gets 403. Restore is command-line only.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from .backup import BACKUP_ACTION, backup_list
from .forms import StyledFormMixin
from .jobs import job_create
from .models import Parameter
from .parameters import (
    CATEGORY_ACTIONS,
    PARAMETERS,
    SECURITY,
    SYSTEM,
    get_param,
    holds_instance_wide,
    param_default,
    parameter_set,
    parameters_of,
)


class ParameterForm(StyledFormMixin, forms.Form):
    """One field per registered parameter of a category, bounded as the registry says."""

    def __init__(self, *args, category: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.keys = parameters_of(category)
        for key in self.keys:
            spec = PARAMETERS[key]
            if spec.type is int:
                field = forms.IntegerField(min_value=spec.min, max_value=spec.max)
            elif spec.type is bool:
                field = forms.BooleanField(required=False)
            else:
                field = forms.CharField(min_length=spec.min, max_length=spec.max)
            field.label = spec.label
            field.help_text = spec.help_text
            field.initial = get_param(key)
            # The mixin styled the fields that existed at its __init__; these come later.
            checkbox = isinstance(field.widget, forms.CheckboxInput)
            field.widget.attrs["class"] = "form-check-input" if checkbox else "form-control"
            self.fields[key] = field


def _require(user, action: str) -> None:
    if not holds_instance_wide(user, action):
        raise PermissionDenied


def _parameter_page(request: HttpRequest, category: str, title) -> HttpResponse:
    _require(request.user, CATEGORY_ACTIONS[category])
    form = ParameterForm(request.POST or None, category=category)
    if request.method == "POST" and form.is_valid():
        changed = []
        try:
            with transaction.atomic():
                for key in form.keys:
                    if parameter_set(actor=request.user, key=key, value=form.cleaned_data[key]):
                        changed.append(key)
        except ValidationError as exc:
            for key, errors in exc.message_dict.items():
                form.add_error(key if key in form.fields else None, errors)
        else:
            if changed:
                messages.success(request, _("Parameters saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect(request.path)
    saved = {
        row.key: row
        for row in Parameter.objects.filter(key__in=form.keys).select_related("updated_by")
    }
    rows = [
        {
            "key": key,
            "field": form[key],
            "value": get_param(key),
            "default": param_default(key),
            "saved": saved.get(key),
        }
        for key in form.keys
    ]
    return render(
        request,
        "system/parameters.html",
        {"form": form, "rows": rows, "title": title, "category": category},
    )


@require_http_methods(["GET", "POST"])
def parameters_view(request: HttpRequest) -> HttpResponse:
    return _parameter_page(request, SYSTEM, gettext_lazy("System parameters"))


@require_http_methods(["GET", "POST"])
def security_parameters_view(request: HttpRequest) -> HttpResponse:
    return _parameter_page(request, SECURITY, gettext_lazy("Security parameters"))


def backup_list_view(request: HttpRequest) -> HttpResponse:
    _require(request.user, BACKUP_ACTION)
    return render(request, "system/backup_list.html", {"backups": backup_list()})


@require_POST
def backup_create_view(request: HttpRequest) -> HttpResponse:
    """Start a backup in the task worker (the same code as ``manage.py backup``)."""
    _require(request.user, BACKUP_ACTION)
    job = job_create(actor=request.user, kind="core.backup", title=_("Backup"), kwargs={})
    messages.info(request, _("The backup runs in the background."))
    return redirect("portal:job_detail", pk=job.pk)
