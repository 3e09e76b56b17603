"""Request-wide policies: default deny (AC-01), no caching of staff pages (WEB-05), request ids."""

from __future__ import annotations

import uuid

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired


class LoginRequiredMiddleware(DjangoLoginRequired):
    """AC-01: every view needs a login unless it is marked ``@login_not_required``.

    Django's own middleware already works this way; subclassing keeps the policy named here and
    gives us one place to hang the public list used by the URL-walk test.
    """


class NoStoreMiddleware:
    """Pages shown to a logged-in user may hold personal data: never store them in a cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        response["X-Request-ID"] = request.request_id
        return response
