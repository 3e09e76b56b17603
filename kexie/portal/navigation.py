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
    if has_action(user, Action.VIEW):
        entries.append((_("Talent registry"), reverse("people:person_list")))
    if has_action(user, Action.IMPORT):
        entries.append((_("Imports"), reverse("orgs:organisation_import")))
    if has_action(user, Action.READ_AUDIT):
        entries.append((_("Audit log"), reverse("portal:audit_list")))
    # 三员分立 (AC-06): the 系统管理员's and the 安全管理员's pages.
    if has_action(user, Action.MANAGE_ACCOUNTS):
        entries.append((_("Accounts"), reverse("accounts:admin_user_list")))
    if has_action(user, Action.MANAGE_PARAMETERS):
        entries.append((_("System parameters"), reverse("system:parameters")))
    if has_action(user, Action.BACKUP):
        entries.append((_("Backups"), reverse("system:backup_list")))
    if has_action(user, Action.GRANT_ROLES):
        entries.append((_("Role grants"), reverse("accounts:admin_role_list")))
    if has_action(user, Action.SECURITY_PARAMETERS):
        entries.append((_("Security parameters"), reverse("system:security_parameters")))
    if has_action(user, Action.UNLOCK_ACCOUNTS):
        entries.append((_("Locked accounts"), reverse("accounts:admin_unlock_list")))
    entries.append((_("My jobs"), reverse("portal:job_list")))
    # The entry with the longest URL that prefixes the current path is the active one.
    matches = [url for _, url in entries if (path == url if url == "/" else path.startswith(url))]
    current = max(matches, key=len) if matches else None
    return [NavItem(label=str(label), url=url, active=url == current) for label, url in entries]
