from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "kexie.activities"
    label = "activities"
    verbose_name = _("Activities and campaigns")
