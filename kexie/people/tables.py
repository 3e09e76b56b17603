"""One Table for persons (STYLE.md 11). Phones are masked; code columns show the code's name
from the cached code tables (no query per row)."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kexie.core.choices import CodeTable
from kexie.core.masking import mask_phone

from .models import Person
from .services import code_entries


def code_name(table: str, code: str) -> str:
    if not code:
        return "—"
    entry = code_entries(table).get(code)
    return entry.name if entry is not None else code


class PersonTable(tables.Table):
    name = tables.LinkColumn(
        "people:person_detail",
        args=[tables.A("pk")],
        verbose_name=_("Full name"),
        order_by=("name_key", "id"),
    )
    gender = tables.Column(verbose_name=_("Gender"), empty_values=())
    phone = tables.Column(verbose_name=_("Mobile number"), orderable=False, empty_values=())
    employer = tables.Column(
        verbose_name=_("Employer"),
        empty_values=(),
        order_by=("employer__name", "employer_text"),
    )
    township = tables.Column(
        accessor="township__name",
        verbose_name=_("Township"),
        order_by=("township__code",),
    )
    worker_type = tables.Column(verbose_name=_("Worker type"), empty_values=())
    title_level = tables.Column(verbose_name=_("Title level"))
    review_status = tables.Column(verbose_name=_("Review status"))
    completeness = tables.Column(verbose_name=_("Completeness"))
    last_confirmed_on = tables.Column(verbose_name=_("Last confirmed"), empty_values=())

    class Meta:
        model = Person
        fields = (
            "name",
            "gender",
            "phone",
            "employer",
            "township",
            "worker_type",
            "title_level",
            "review_status",
            "completeness",
            "last_confirmed_on",
        )
        order_by = ("-id",)
        template_name = "people/_person_table.html"
        attrs = {"class": "table table-vcenter card-table", "data-testid": "person-table"}
        empty_text = _("No persons match.")

    def __init__(self, *args, today=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def render_gender(self, value):
        return code_name(CodeTable.GENDER, value)

    def render_worker_type(self, value):
        return code_name(CodeTable.WORKER_TYPE, value)

    def render_phone(self, value):
        return mask_phone(value) or "—"

    def render_employer(self, record):
        return record.employer_name or "—"

    def render_completeness(self, value):
        return f"{value}%"

    def render_last_confirmed_on(self, record):
        confirmed = record.last_confirmed_on.isoformat() if record.last_confirmed_on else "—"
        if record.is_stale(self.today):
            return format_html(
                '{} <span class="badge bg-warning-lt" data-testid="stale">{}</span>',
                confirmed,
                _("Stale"),
            )
        return confirmed

    # --- the page's rows, rendered without django-tables2's per-cell machinery ---------------

    def page_rows(self) -> list[list[str]]:
        """The cells of the current page, the same as the columns above render them.

        django-tables2 inspects each render method's signature for every cell (about 1 ms a
        row here, half of the list page's time at 50 rows); the list page is the registry's
        busiest, so its rows are rendered here directly (``people/_person_table.html``).
        ``test_pages`` checks that both renderings agree.
        """
        rows = self.page.object_list if getattr(self, "page", None) else self.rows
        records = [row.record for row in rows]
        renderers = {
            "name": lambda p: format_html(
                '<a href="{}">{}</a>', reverse("people:person_detail", args=[p.pk]), p.name
            ),
            "gender": lambda p: self.render_gender(p.gender),
            "phone": lambda p: self.render_phone(p.phone),
            "employer": lambda p: self.render_employer(p),
            "township": lambda p: p.township.name if p.township_id else "—",
            "worker_type": lambda p: self.render_worker_type(p.worker_type),
            "title_level": lambda p: p.get_title_level_display() or "—",
            "review_status": lambda p: p.get_review_status_display() or "—",
            "completeness": lambda p: self.render_completeness(p.completeness),
            "last_confirmed_on": lambda p: self.render_last_confirmed_on(p),
        }
        names = [column.name for column in self.columns]
        return [[renderers[name](record) for name in names] for record in records]
