"""Registration targets and progress (inside the ``people`` namespace)."""

from django.urls import path

from . import target_views as views

urlpatterns = [
    path("targets/", views.target_list, name="target_list"),
    path("targets/<int:pk>/", views.target_edit, name="target_edit"),
    path("targets/progress/", views.progress, name="progress"),
]
