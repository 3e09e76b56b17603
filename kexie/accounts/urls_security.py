"""URL patterns included by kexie/accounts/urls.py: the second factor and one's sessions."""

from django.urls import path

from . import otp_views, session_views

urlpatterns = [
    path("2fa/", otp_views.otp_overview, name="otp"),
    path("2fa/setup/", otp_views.otp_setup, name="otp_setup"),
    path("2fa/verify/", otp_views.otp_verify, name="otp_verify"),
    path("sessions/", session_views.session_list, name="session_list"),
    path("sessions/<int:pk>/end/", session_views.session_end, name="session_end"),
    path("sessions/end-others/", session_views.session_end_others, name="session_end_others"),
]
