"""URL patterns included by kexie/accounts/urls.py: own account, phone change and reveal."""

from django.urls import path

from . import profile_views

urlpatterns: list = [
    path("profile/", profile_views.profile_view, name="profile"),
    path("profile/phone/", profile_views.profile_phone_view, name="profile_phone"),
    path(
        "users/<int:pk>/phone/reveal/",
        profile_views.user_phone_reveal_view,
        name="user_phone_reveal",
    ),
]
