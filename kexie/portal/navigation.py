"""The navigation menu, built from what the user's roles allow."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kexie.accounts.roles import Action
from kexie.accounts.scope import has_action


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


def navigation_for(request) -> list[NavItem]:
    user = request.user
    path = request.path
    entries: list[tuple[str, str]] = [(_("Dashboard"), reverse("portal:dashboard"))]
    if has_action(user, Action.VIEW):
        entries.append((_("Organisations"), reverse("orgs:organisation_tree")))
    if has_action(user, Action.IMPORT):
        entries.append((_("Imports"), reverse("orgs:organisation_import")))
    if has_action(user, Action.READ_AUDIT):
        entries.append((_("Audit log"), reverse("portal:audit_list")))
    entries.append((_("My jobs"), reverse("portal:job_list")))
    # The entry with the longest URL that prefixes the current path is the active one.
    matches = [url for _, url in entries if (path == url if url == "/" else path.startswith(url))]
    current = max(matches, key=len) if matches else None
    return [NavItem(label=str(label), url=url, active=url == current) for label, url in entries]
