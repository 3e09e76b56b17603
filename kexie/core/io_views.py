"""Generic import pages: upload, report and preview, commit, undo, template download.

An app creates one ``ImportPages`` for its importer and routes its methods; the URL names are
``<url_name>`` (upload), ``<url_name>_template``, ``<url_name>_detail``, ``<url_name>_commit``
and ``<url_name>_undo``. Views stay thin: every decision is in ``core.imports``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kexie.accounts.scope import has_action

from .choices import ImportStatus
from .exports import XLSX_CONTENT_TYPE, content_disposition
from .forms import StyledFormMixin
from .imports import (
    ACTION_LABELS,
    Importer,
    import_commit,
    import_log_list,
    import_undo,
    import_validate,
    partial_row_count,
)
from .jobs import job_set_result_url
from .selectors import import_log_get


class ImportUploadForm(StyledFormMixin, forms.Form):
    file = forms.FileField(
        label=_("Workbook (.xlsx)"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )


class ImportPages:
    """The pages of one importer. ``url_name`` is the namespaced name of the upload page,
    e.g. ``"orgs:organisation_import"``; ``back_url_name`` the list the pages link back to."""

    def __init__(self, *, importer: Importer, url_name: str, back_url_name: str = "") -> None:
        self.importer = importer
        self.url_name = url_name
        self.back_url_name = back_url_name

    def _url(self, suffix: str = "", *args) -> str:
        return reverse(f"{self.url_name}{suffix}", args=args)

    def _require(self, request: HttpRequest) -> None:
        if not has_action(request.user, self.importer.action):
            raise PermissionDenied

    def _urls(self, log=None) -> dict[str, str]:
        urls = {
            "upload": self._url(),
            "template": self._url("_template"),
            "back": reverse(self.back_url_name) if self.back_url_name else "",
        }
        if log is not None:
            urls.update(
                detail=self._url("_detail", log.pk),
                commit=self._url("_commit", log.pk),
                undo=self._url("_undo", log.pk),
            )
        return urls

    # --- Views -----------------------------------------------------------------------------------

    def upload(self, request: HttpRequest) -> HttpResponse:
        self._require(request)
        if request.method == "POST":
            form = ImportUploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    log = import_validate(
                        user=request.user, importer=self.importer, upload=form.cleaned_data["file"]
                    )
                except ValidationError as exc:
                    form.add_error("file", exc.messages)
                else:
                    if log.job is not None:
                        job_set_result_url(job=log.job, url=self._url("_detail", log.pk))
                    return redirect(self._url("_detail", log.pk))
            status = 400
        elif request.method == "GET":
            form = ImportUploadForm()
            status = 200
        else:
            return HttpResponseNotAllowed(["GET", "POST"])
        context = {
            "importer": self.importer,
            "title": self.importer.title,
            "form": form,
            "logs": import_log_list(user=request.user, importer=self.importer),
            "urls": self._urls(),
            "detail_url_name": f"{self.url_name}_detail",
        }
        return render(request, "core/import_upload.html", context, status=status)

    def template(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        self._require(request)
        response = HttpResponse(self.importer.template_bytes(), content_type=XLSX_CONTENT_TYPE)
        name = gettext("%(title)s template") % {"title": self.importer.title}
        response["Content-Disposition"] = content_disposition(f"{name}.xlsx")
        response["Cache-Control"] = "no-store"
        return response

    def detail(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        self._require(request)
        log = import_log_get(user=request.user, pk=pk, importer=self.importer.code)
        preview = [
            {**row, "action_label": ACTION_LABELS.get(row.get("action"), "")}
            for row in (log.preview or [])
        ]
        summary = log.summary or {}
        context = {
            "importer": self.importer,
            "title": self.importer.title,
            "log": log,
            "headers": self.importer.header_texts(),
            "errors": log.errors or [],
            "preview": preview,
            "planned": summary.get("planned", {}),
            "result": summary.get("result", {}),
            "undo_result": summary.get("undo", {}),
            "job": log.job,
            "can_commit": log.status == ImportStatus.VALID and not log.error_count,
            "partial_rows": partial_row_count(log) if self.importer.allow_partial else 0,
            "can_undo": log.status == ImportStatus.COMMITTED,
            "urls": self._urls(log),
        }
        return render(request, "core/import_detail.html", context)

    def commit(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._require(request)
        log = import_log_get(user=request.user, pk=pk, importer=self.importer.code)
        try:
            log = import_commit(
                user=request.user, log=log, partial=request.POST.get("partial") == "1"
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if log.job is not None:
                job_set_result_url(job=log.job, url=self._url("_detail", log.pk))
                messages.info(request, gettext("The import runs in the background."))
            elif log.status == ImportStatus.COMMITTED:
                messages.success(request, gettext("The file was imported."))
            else:
                messages.error(request, gettext("The import failed and wrote nothing."))
        return redirect(self._url("_detail", log.pk))

    def undo(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._require(request)
        log = import_log_get(user=request.user, pk=pk, importer=self.importer.code)
        try:
            import_undo(user=request.user, log=log)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, gettext("The import was undone."))
        return redirect(self._url("_detail", log.pk))


__all__ = ["ImportPages", "ImportUploadForm"]
