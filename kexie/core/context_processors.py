from __future__ import annotations

from django.conf import settings


def kexie(request):
    from kexie.core.parameters import get_param
    from kexie.portal.navigation import navigation_for

    user = getattr(request, "user", None)
    return {
        "KEXIE_INSTANCE_NAME": get_param("instance_name"),
        "KEXIE_DEMO": settings.KEXIE_DEMO,
        "KEXIE_REQUIRE_2FA": settings.KEXIE_REQUIRE_2FA,
        "nav_items": navigation_for(request) if user and user.is_authenticated else [],
    }
