"""The audit log pages (AC-06, 审计管理员 only), included by kexie/portal/urls.py."""

from django.urls import path

from . import audit_views

urlpatterns = [
    path("audit/", audit_views.audit_list_view, name="audit_list"),
    path("audit/<int:sequence>/", audit_views.audit_detail_view, name="audit_detail"),
    path("audit/export.xlsx", audit_views.audit_export_view, name="audit_export"),
]
