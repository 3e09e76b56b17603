"""Duplicate and merge pages of the talent registry (inside the ``people`` namespace)."""

from django.urls import path

from . import dedup_views as views

urlpatterns = [
    path("duplicates/", views.duplicate_list_view, name="duplicate_list"),
    path("duplicates/<int:pk>/", views.duplicate_detail, name="duplicate_detail"),
    path("duplicates/<int:pk>/merge/", views.duplicate_merge, name="duplicate_merge"),
    path("duplicates/<int:pk>/dismiss/", views.duplicate_dismiss_view, name="duplicate_dismiss"),
    path("merges/<int:pk>/", views.merge_detail, name="merge_detail"),
    path("merges/<int:pk>/undo/", views.merge_undo, name="merge_undo"),
]
