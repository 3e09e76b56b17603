"""URL patterns included by kexie/accounts/urls.py: the 系统管理员 and 安全管理员 pages."""

from django.urls import path

from . import admin_views

urlpatterns = [
    path("admin/users/", admin_views.user_list, name="admin_user_list"),
    path("admin/users/new/", admin_views.user_create_view, name="admin_user_create"),
    path("admin/users/<int:pk>/", admin_views.user_detail, name="admin_user_detail"),
    path("admin/users/<int:pk>/disable/", admin_views.user_disable_view, name="admin_user_disable"),
    path("admin/users/<int:pk>/enable/", admin_views.user_enable_view, name="admin_user_enable"),
    path("admin/roles/", admin_views.role_list, name="admin_role_list"),
    path("admin/roles/grant/", admin_views.role_grant_view, name="admin_role_grant"),
    path("admin/roles/<int:pk>/revoke/", admin_views.role_revoke_view, name="admin_role_revoke"),
    path("admin/unlock/", admin_views.unlock_list, name="admin_unlock_list"),
    path("admin/unlock/lift/", admin_views.unlock_view, name="admin_unlock"),
    path(
        "admin/second-factor/reset/",
        admin_views.second_factor_reset_view,
        name="admin_otp_reset",
    ),
]
