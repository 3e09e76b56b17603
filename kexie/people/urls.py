"""Staff pages of the talent registry, under /people/. Each part has its own URL module."""

from django.urls import include, path  # noqa: F401 - include() is used by the parts below

app_name = "people"

urlpatterns: list = [
    # The parts add their include() lines here, one per module.
    path("", include("kexie.people.dedup_urls")),
    path("", include("kexie.people.io_urls")),
    path("", include("kexie.people.person_urls")),
    path("", include("kexie.people.review_urls")),
    path("", include("kexie.people.request_urls")),
    path("", include("kexie.people.target_urls")),
]
