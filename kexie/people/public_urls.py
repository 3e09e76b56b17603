"""Public and self-service pages of the talent registry (no staff login), under /register/."""

from django.urls import path

from . import public_views as views

app_name = "register"

urlpatterns: list = [
    path("", views.register, name="register"),
    path("status/", views.status, name="status"),
    path("status/record/", views.status_detail, name="status_detail"),
    path("status/resubmit/", views.resubmit, name="resubmit"),
    path("me/", views.me, name="me"),
    path("me/verify/", views.me_verify, name="me_verify"),
    path("me/record/", views.me_record, name="me_record"),
    path("me/download/", views.me_download, name="me_download"),
    path("me/request/", views.me_request, name="me_request"),
    path("me/withdraw/", views.me_withdraw, name="me_withdraw"),
    path("me/sign-out/", views.me_signout, name="me_signout"),
]
