from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from kexie.accounts.admin_site import restrict_admin_site

restrict_admin_site(admin.site)

urlpatterns = [
    path("", include("kexie.portal.urls")),
    path("accounts/", include("kexie.accounts.urls")),
    path("orgs/", include("kexie.orgs.urls")),
    path("people/", include("kexie.people.urls")),
    path("register/", include("kexie.people.public_urls")),
    path("system/", include(("kexie.core.urls_system", "system"))),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("django-admin/", admin.site.urls),
]

handler400 = "kexie.portal.views.error_400"
handler403 = "kexie.portal.views.error_403"
handler404 = "kexie.portal.views.error_404"
handler500 = "kexie.portal.views.error_500"
