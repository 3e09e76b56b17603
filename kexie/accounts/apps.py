from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "kexie.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # Every login path (the login page, force_login in tests) and axes' lock-outs pass
        # through these signals; the receivers only record, the policy is in security.py.
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from . import security

        user_locked_out.connect(security.on_user_locked_out, dispatch_uid="kexie_locked_out")
        user_logged_in.connect(security.session_track_login, dispatch_uid="kexie_session_in")
        user_logged_out.connect(security.session_track_logout, dispatch_uid="kexie_session_out")
