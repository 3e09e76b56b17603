"""The review queue (inside the ``people`` namespace)."""

from django.urls import path

from . import review_views as views

urlpatterns = [
    path("review/", views.review_queue_view, name="review_queue"),
    path("review/<int:pk>/decide/", views.review_decide, name="review_decide"),
]
