"""Dashboard, health check, jobs and the friendly error pages (the audit pages: audit_views)."""

from __future__ import annotations

import shutil
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kexie.accounts.roles import Action
from kexie.accounts.scope import has_action, user_roles
from kexie.core.models import WorkerHeartbeat
from kexie.core.selectors import job_get, job_list
from kexie.orgs.selectors import organisation_counts_by_kind_and_county


def dashboard(request: HttpRequest) -> HttpResponse:
    """Home page; what it shows depends on the roles the user holds."""
    user = request.user
    context: dict = {"roles": sorted(user_roles(user))}
    if has_action(user, Action.VIEW):
        counts = organisation_counts_by_kind_and_county(user=user)
        context["org_counts"] = counts
        chart = counts["chart"]
        context["kind_chart"] = {
            "labels": [label.split(" (")[0] for label in chart["kinds"]],
            "values": chart["kind_counts"],
            "rotate": 30,
        }
        context["county_chart"] = {"labels": chart["counties"], "values": chart["county_counts"]}
    context["can_read_audit"] = has_action(user, Action.READ_AUDIT)
    return render(request, "portal/dashboard.html", context)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """REL-04: database, migrations, disk and worker. 200 when usable, 503 otherwise.

    Public so that a load balancer can ask it; it reveals no data, only states.
    """
    checks: dict[str, str] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        checks["database"] = "error"
        healthy = False
    if healthy:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        checks["migrations"] = "ok" if not pending else "pending"
        healthy = healthy and not pending
        stale_after = timedelta(seconds=settings.KEXIE_WORKER_STALE_SECONDS)
        alive = WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - stale_after)
        checks["worker"] = "ok" if alive.exists() else "stale"
    usage = shutil.disk_usage(settings.VAR_DIR if settings.VAR_DIR.exists() else settings.BASE_DIR)
    checks["disk"] = "ok" if usage.free > 200 * 1024 * 1024 else "low"
    status = 200 if healthy else 503
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=status)


def job_list_view(request: HttpRequest) -> HttpResponse:
    page = Paginator(job_list(user=request.user), 25).get_page(request.GET.get("page"))
    return render(request, "portal/job_list.html", {"page_obj": page})


def job_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_get(user=request.user, pk=pk)
    if request.htmx and job.is_finished and job.result_url.startswith("/"):
        # The page was polling a running job: take the person to its result.
        response = HttpResponse("")
        response["HX-Redirect"] = job.result_url
        return response
    template = "portal/_job_progress.html" if request.htmx else "portal/job_detail.html"
    return render(request, template, {"job": job})


def error_400(request, exception=None):
    return render(request, "errors/400.html", status=400)


def error_403(request, exception=None):
    return render(request, "errors/403.html", status=403)


def error_404(request, exception=None):
    return render(request, "errors/404.html", status=404)


def error_500(request):
    # No context processors: the database may be the reason we are here.
    from django.template import loader

    html = loader.get_template("errors/500.html").render({})
    return HttpResponse(html, status=500)
