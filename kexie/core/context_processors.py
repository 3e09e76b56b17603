from __future__ import annotations

from django.conf import settings


def kexie(request):
    from kexie.portal.navigation import navigation_for

    user = getattr(request, "user", None)
    return {
        "KEXIE_INSTANCE_NAME": settings.KEXIE_INSTANCE_NAME,
        "KEXIE_DEMO": settings.KEXIE_DEMO,
        "nav_items": navigation_for(request) if user and user.is_authenticated else [],
    }
