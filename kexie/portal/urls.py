from django.urls import include, path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("jobs/", views.job_list_view, name="job_list"),
    path("jobs/<int:pk>/", views.job_detail_view, name="job_detail"),
    # audit search, filter, export for the 审计管理员 (kexie/portal/urls_audit.py)
    path("", include("kexie.portal.urls_audit")),
]
