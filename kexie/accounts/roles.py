"""Role codes and what each role may do inside its organisation subtree.

Role codes are stable identifiers (stored in RoleAssignment.role, cited in tests and docs).
The three administrator roles (三员分立, AC-06) are mutually exclusive on one account.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CLERK = "clerk", _("Clerk (录入员)")
    REVIEWER = "reviewer", _("Reviewer (审核员)")
    UNIT_ADMIN = "unit_admin", _("Unit administrator (单位管理员)")
    VIEWER = "viewer", _("Read-only (只读)")
    SYSTEM_ADMIN = "system_admin", _("System administrator (系统管理员)")
    SECURITY_ADMIN = "security_admin", _("Security administrator (安全管理员)")
    AUDIT_ADMIN = "audit_admin", _("Audit administrator (审计管理员)")


class Action:
    """Actions checked against a scope. Strings, so later apps can add their own."""

    VIEW = "view"
    CREATE = "create"
    CHANGE = "change"
    MOVE = "move"
    DISSOLVE = "dissolve"
    REVIEW = "review"
    IMPORT = "import"
    EXPORT = "export"
    MANAGE_ACCOUNTS = "manage_accounts"
    GRANT_ROLES = "grant_roles"
    READ_AUDIT = "read_audit"
    VIEW_SENSITIVE = "view_sensitive"  # AC-04: reveal a full ID number / phone, audited
    MANAGE_PARAMETERS = "manage_parameters"
    BACKUP = "backup"
    SECURITY_PARAMETERS = "security_parameters"
    UNLOCK_ACCOUNTS = "unlock_accounts"


ADMIN_TRIAD = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset({Action.VIEW}),
    Role.CLERK: frozenset({Action.VIEW, Action.CREATE, Action.CHANGE, Action.IMPORT}),
    Role.REVIEWER: frozenset({Action.VIEW, Action.REVIEW, Action.EXPORT, Action.VIEW_SENSITIVE}),
    Role.UNIT_ADMIN: frozenset(
        {
            Action.VIEW,
            Action.CREATE,
            Action.CHANGE,
            Action.MOVE,
            Action.DISSOLVE,
            Action.REVIEW,
            Action.IMPORT,
            Action.EXPORT,
            Action.VIEW_SENSITIVE,
        }
    ),
    # 系统管理员: accounts, the organisation tree, parameters, backup — no business review.
    Role.SYSTEM_ADMIN: frozenset(
        {
            Action.VIEW,
            Action.CREATE,
            Action.CHANGE,
            Action.MOVE,
            Action.DISSOLVE,
            Action.IMPORT,
            Action.EXPORT,
            Action.MANAGE_ACCOUNTS,
            Action.MANAGE_PARAMETERS,
            Action.BACKUP,
        }
    ),
    # 安全管理员: role grants and security parameters; sees the tree to grant roles in it.
    Role.SECURITY_ADMIN: frozenset(
        {Action.VIEW, Action.GRANT_ROLES, Action.SECURITY_PARAMETERS, Action.UNLOCK_ACCOUNTS}
    ),
    # 审计管理员: the audit log only.
    Role.AUDIT_ADMIN: frozenset({Action.READ_AUDIT}),
}


def roles_allowing(action: str) -> list[str]:
    return [role for role, actions in ROLE_ACTIONS.items() if action in actions]
