from django.urls import include, path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("activate/<uidb64>/<token>/", views.ActivateView.as_view(), name="activate"),
    path("reauth/", views.reauth_view, name="reauth"),
    # second factor, sessions, forced password change (kexie/accounts/urls_security.py)
    path("", include("kexie.accounts.urls_security")),
    # own profile: phone (masked, reveal), own data (kexie/accounts/urls_profile.py)
    path("", include("kexie.accounts.urls_profile")),
    # 系统管理员 / 安全管理员 pages: accounts, role grants, unlocking (kexie/accounts/urls_admin.py)
    path("", include("kexie.accounts.urls_admin")),
]
