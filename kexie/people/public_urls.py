"""Public and self-service pages of the talent registry (no staff login), under /register/."""

from django.urls import path  # noqa: F401

app_name = "register"

urlpatterns: list = []
