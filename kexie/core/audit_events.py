"""The audit event codes (AUD-01): stable dotted identifiers with a human label each.

Codes are stored in ``AuditEvent.event_type`` and cited in tests, docs and searches; they
never change once used. Labels are English source text, translated like every other string.
A test fails when the code base writes a code that is missing here.
"""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# The group of a code is the part before the first dot.
EVENT_GROUPS: dict[str, object] = {
    "auth": _("Sign-in"),
    "session": _("Sessions"),
    "account": _("Accounts and roles"),
    "org": _("Organisations"),
    "person": _("Talent registry"),
    "activity": _("Activities"),
    "campaign": _("Campaigns"),
    "import": _("Imports"),
    "export": _("Exports"),
    "pii": _("Personal data"),
    "parameter": _("Parameters"),
    "backup": _("Backup and restore"),
    "crypto": _("Encryption keys"),
    "audit": _("Audit log"),
}

EVENT_LABELS: dict[str, object] = {
    # Sign-in and sessions
    "auth.login": _("Logged in"),
    "auth.login_failed": _("Login failed"),
    "auth.logout": _("Logged out"),
    "auth.reauth": _("Password confirmed before a sensitive action"),
    "auth.locked_out": _("Locked out after failed logins"),
    "auth.unlock": _("Lock-out lifted"),
    "auth.otp_reset": _("Second factor reset by an administrator"),
    "auth.otp_enrol": _("Two-factor device enrolled"),
    "auth.otp_verify_failed": _("Two-factor code rejected"),
    "auth.recovery_code_used": _("Recovery code used"),
    "session.end": _("Session ended"),
    # Accounts and roles
    "account.create": _("Account created"),
    "account.activate": _("Account activated"),
    "account.password_change": _("Password changed"),
    "account.phone_change": _("Phone number changed"),
    "account.role_grant": _("Role granted"),
    "account.role_revoke": _("Role revoked"),
    "account.disable": _("Account disabled"),
    "account.enable": _("Account enabled"),
    "account.dormant_disable": _("Dormant account disabled"),
    # Organisations
    "org.create": _("Organisation created"),
    "org.update": _("Organisation changed"),
    "org.move": _("Organisation moved"),
    "org.dissolve": _("Organisation dissolved"),
    "org.delete": _("Organisation deleted"),
    # The talent registry (people app)
    "person.create": _("Person registered"),
    "person.update": _("Person changed"),
    "person.self_register": _("Self-registration received"),
    "person.resubmit": _("Registration corrected and resubmitted"),
    "person.review": _("Registration reviewed"),
    "person.confirm": _("Person's data confirmed"),
    "person.contact": _("Contact with a person recorded"),
    "person.merge": _("Duplicate records merged"),
    "person.merge_undo": _("Merge undone"),
    "person.duplicate_dismiss": _("Duplicate candidate dismissed"),
    "person.consent_withdraw": _("Consent withdrawn"),
    "person.subject_request": _("Data-subject request received"),
    "person.subject_request_handle": _("Data-subject request handled"),
    "person.subject_access": _("Own data viewed or downloaded"),
    "person.delete": _("Person deleted"),
    "person.purge": _("Expired personal data purged"),
    "person.target_set": _("Registration target set"),
    "person.index_rebuild": _("Search index rebuilt"),
    "person.search_sensitive": _("Registry searched by ID number or phone"),
    # Activities and campaigns (activities app)
    "activity.create": _("Activity drafted"),
    "activity.update": _("Activity changed"),
    "activity.submit": _("Activity submitted for review"),
    "activity.review": _("Activity reviewed"),
    "activity.cancel": _("Activity cancelled"),
    "campaign.create": _("Campaign created"),
    "campaign.update": _("Campaign changed"),
    "campaign.target_set": _("Campaign target set"),
    # Data in and out
    "import.validate": _("Import file checked"),
    "import.commit": _("Import written"),
    "import.undo": _("Import undone"),
    "export.download": _("Data exported"),
    "export.request": _("Unmasked export requested"),
    "export.request_decide": _("Unmasked export request decided"),
    "pii.export": _("Personal data exported unmasked"),
    "pii.reveal": _("Personal data revealed"),
    # Administration
    "parameter.change": _("Parameter changed"),
    "backup.create": _("Backup created"),
    "backup.restore": _("Backup restored"),
    "crypto.rotate": _("Encryption key rotated"),
    # The audit log itself
    "audit.search": _("Audit log searched"),
    "audit.export": _("Audit log exported"),
    "audit.purge": _("Old audit events purged"),
}


def event_label(code: str) -> str:
    """The label of ``code`` in the active language; an unknown code is shown as it is."""
    label = EVENT_LABELS.get(code)
    return str(label) if label is not None else code


def event_group(code: str) -> str:
    return code.split(".", 1)[0]


def event_choices() -> list[tuple[object, list[tuple[str, str]]]]:
    """Choices for a filter: per group, "every event of the group" (a ``prefix.`` value)
    followed by the exact codes. Built per call so that labels follow the active language."""
    grouped: list[tuple[object, list[tuple[str, str]]]] = []
    for group, group_label in EVENT_GROUPS.items():
        codes = [code for code in EVENT_LABELS if event_group(code) == group]
        if not codes:
            continue
        every = gettext("Every event of %(group)s") % {"group": group_label}
        options = [(f"{group}.", f"{group}.* · {every}")]
        options += [(code, f"{code} · {event_label(code)}") for code in codes]
        grouped.append((group_label, options))
    return grouped


__all__ = ["EVENT_GROUPS", "EVENT_LABELS", "event_choices", "event_group", "event_label"]
