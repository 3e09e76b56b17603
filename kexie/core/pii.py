"""PI-01: the inventory of model fields that hold personal information.

Every field that holds personal information is listed here with why it is kept, for how long
and how it is protected. ``core/tests/test_pii_inventory.py`` fails when a model field that
looks like personal data (an ``EncryptedTextField``, or a name such as ``phone``, ``email``,
``ip_address``, ``contact_person``, ``display_name`` …) is missing, or when an entry names a
field that no longer exists. Add the entry in the same change that adds the field.

Keys are ``<app_label>.<ModelName>.<field name>``. ``category`` follows GB/T 35273:
``personal`` (个人信息), ``sensitive`` (个人敏感信息), ``office`` (an organisation's contact data,
which may still name a person), ``pseudonymous`` (derived, cannot be reversed without a key).
"""

from __future__ import annotations

from typing import TypedDict


class PiiEntry(TypedDict):
    category: str
    purpose: str
    retention: str
    protection: str


_ACCOUNT_LIFETIME = "while the account exists; removed with the account (PI-09 purge job)"
_SESSION_RETENTION = "policy 90 days after the session ended (PI-09 retention job)"
_AUDIT_RETENTION = "at least 180 days (AUD-05); older rows purged by the audited audit purge"
_AXES_LOG_RETENTION = "policy 180 days, then removed by `axes_reset_logs` (PI-09 retention job)"
_REGISTRY = (
    "while the person is registered; deleted on request or when registration is rejected "
    "or withdrawn (PI-08, PI-09 purge job)"
)
_AXES_RETENTION = (
    "until the lock-out cools off (AXES_COOLOFF_TIME, 30 minutes) or an administrator resets it"
)

PII_INVENTORY: dict[str, PiiEntry] = {
    # --- Staff accounts -----------------------------------------------------------------------
    "accounts.User.username": {
        "category": "personal",
        "purpose": "login name of a staff member; shown in the audit log",
        "retention": _ACCOUNT_LIFETIME,
        "protection": "access control (staff pages only); never in public pages",
    },
    "accounts.User.first_name": {
        "category": "personal",
        "purpose": "inherited from Django's user model; unused (display_name is used instead)",
        "retention": _ACCOUNT_LIFETIME,
        "protection": "left empty by every service",
    },
    "accounts.User.last_name": {
        "category": "personal",
        "purpose": "inherited from Django's user model; unused (display_name is used instead)",
        "retention": _ACCOUNT_LIFETIME,
        "protection": "left empty by every service",
    },
    "accounts.User.display_name": {
        "category": "personal",
        "purpose": "how colleagues recognise a staff member in pages and the audit log",
        "retention": _ACCOUNT_LIFETIME,
        "protection": "access control (staff pages only)",
    },
    "accounts.User.email": {
        "category": "personal",
        "purpose": "activation and password-reset messages to the staff member",
        "retention": _ACCOUNT_LIFETIME,
        "protection": "access control; masked in lists (mask_email)",
    },
    "accounts.User.phone": {
        "category": "personal",
        "purpose": "contacting the staff member; one-time codes for sensitive actions (AUTH-08)",
        "retention": _ACCOUNT_LIFETIME,
        "protection": (
            "encrypted+blind index, masked; the full number only through an audited reveal"
        ),
    },
    "accounts.User.phone_index": {
        "category": "pseudonymous",
        "purpose": "equality look-up and uniqueness of the phone without decrypting it (PI-06)",
        "retention": "cleared together with the phone",
        "protection": "HMAC-SHA256 with a key outside the database; never shown",
    },
    "accounts.UserSession.ip_address": {
        "category": "personal",
        "purpose": "lets a person recognise and end their own sessions (SES-05)",
        "retention": _SESSION_RETENTION,
        "protection": "access control (own sessions only)",
    },
    "accounts.UserSession.user_agent": {
        "category": "personal",
        "purpose": "lets a person recognise their own sessions (SES-05)",
        "retention": _SESSION_RETENTION,
        "protection": "access control (own sessions only)",
    },
    # --- Audit log ----------------------------------------------------------------------------
    "core.AuditEvent.actor_username": {
        "category": "personal",
        "purpose": "who did it (AUD-02), kept even if the account is later removed",
        "retention": _AUDIT_RETENTION,
        "protection": "readable only by the audit administrator; append-only, HMAC chain",
    },
    "core.AuditEvent.object_repr": {
        "category": "personal",
        "purpose": "what was acted on, as the user saw it (may be a staff member's display name)",
        "retention": _AUDIT_RETENTION,
        "protection": "readable only by the audit administrator; never holds phone or ID values",
    },
    "core.AuditEvent.ip_address": {
        "category": "personal",
        "purpose": "source address of a security-relevant event (AUD-02)",
        "retention": _AUDIT_RETENTION,
        "protection": "readable only by the audit administrator; append-only, HMAC chain",
    },
    "core.AuditEvent.user_agent": {
        "category": "personal",
        "purpose": "browser of a security-relevant event (AUD-02)",
        "retention": _AUDIT_RETENTION,
        "protection": "readable only by the audit administrator; append-only, HMAC chain",
    },
    # --- Organisations (office contact data; may name a person) -------------------------------
    "orgs.Organisation.contact_person": {
        "category": "office",
        "purpose": "whom the 科协 calls at the organisation (office data)",
        "retention": "while the organisation record exists",
        "protection": "scoped access (AC-02); office data, not masked",
    },
    "orgs.Organisation.contact_phone": {
        "category": "office",
        "purpose": "the organisation's office telephone (office data)",
        "retention": "while the organisation record exists",
        "protection": "scoped access (AC-02); office data, not masked",
    },
    "orgs.Organisation.email": {
        "category": "office",
        "purpose": "the organisation's office e-mail address (office data)",
        "retention": "while the organisation record exists",
        "protection": "scoped access (AC-02); office data, not masked",
    },
    "orgs.Organisation.address": {
        "category": "office",
        "purpose": "the organisation's office address (office data)",
        "retention": "while the organisation record exists",
        "protection": "scoped access (AC-02); office data, not masked",
    },
    # --- Log-in lock-out (django-axes, AUTH-04) -----------------------------------------------
    "axes.AccessAttempt.username": {
        "category": "personal",
        "purpose": "counting failed logins per username and IP (AUTH-04)",
        "retention": _AXES_RETENTION,
        "protection": "Django admin for administrators only (AC-07)",
    },
    "axes.AccessAttempt.ip_address": {
        "category": "personal",
        "purpose": "counting failed logins per username and IP (AUTH-04)",
        "retention": _AXES_RETENTION,
        "protection": "Django admin for administrators only (AC-07)",
    },
    "axes.AccessAttempt.user_agent": {
        "category": "personal",
        "purpose": "telling attackers' tools apart when unlocking (AUTH-04)",
        "retention": _AXES_RETENTION,
        "protection": "Django admin for administrators only (AC-07)",
    },
    "axes.AccessFailureLog.username": {
        "category": "personal",
        "purpose": "history of failed logins (AUTH-04)",
        "retention": _AXES_LOG_RETENTION,
        "protection": "Django admin for administrators only (AC-07)",
    },
    "axes.AccessFailureLog.ip_address": {
        "category": "personal",
        "purpose": "history of failed logins (AUTH-04)",
        "retention": _AXES_LOG_RETENTION,
        "protection": "Django admin for administrators only (AC-07)",
    },
    "axes.AccessFailureLog.user_agent": {
        "category": "personal",
        "purpose": "history of failed logins (AUTH-04)",
        "retention": _AXES_LOG_RETENTION,
        "protection": "Django admin for administrators only (AC-07)",
    },
    "axes.AccessLog.username": {
        "category": "personal",
        "purpose": "history of successful logins (AUTH-04)",
        "retention": _AXES_LOG_RETENTION,
        "protection": "Django admin for administrators only (AC-07)",
    },
    "axes.AccessLog.ip_address": {
        "category": "personal",
        "purpose": "history of successful logins (AUTH-04)",
        "retention": _AXES_LOG_RETENTION,
        "protection": "Django admin for administrators only (AC-07)",
    },
    "axes.AccessLog.user_agent": {
        "category": "personal",
        "purpose": "history of successful logins (AUTH-04)",
        "retention": _AXES_LOG_RETENTION,
        "protection": "Django admin for administrators only (AC-07)",
    },
    "people.Person.name": {
        "category": "personal",
        "purpose": "the worker's name: identifies the record; searched by staff",
        "retention": _REGISTRY,
        "protection": "access control (scope, AC-02); public pages never show it (PI-11)",
    },
    "people.Person.gender": {
        "category": "personal",
        "purpose": (
            "registry statistics (GB/T 2261.1); derived from and checked against the ID number"
        ),
        "retention": _REGISTRY,
        "protection": "access control (scope, AC-02)",
    },
    "people.Person.ethnicity": {
        "category": "sensitive",
        "purpose": "registry statistics required by the 科协 returns (GB/T 3304)",
        "retention": _REGISTRY,
        "protection": "access control (scope, AC-02); only aggregated in statistics",
    },
    "people.Person.birth_date": {
        "category": "personal",
        "purpose": "age bands, minors (PI-04), duplicate detection",
        "retention": _REGISTRY,
        "protection": "access control (scope, AC-02)",
    },
    "people.Person.id_number": {
        "category": "sensitive",
        "purpose": (
            "identifies the person uniquely (one record per human being); separate consent (PI-03)"
        ),
        "retention": _REGISTRY,
        "protection": (
            "encrypted, AES-256-GCM (PI-06), masked everywhere (PI-05), reveal audited (AC-04)"
        ),
    },
    "people.Person.id_index": {
        "category": "pseudonymous",
        "purpose": "equality look-up and uniqueness of the ID number",
        "retention": _REGISTRY,
        "protection": "HMAC-SHA256 with a key outside the database",
    },
    "people.Person.phone": {
        "category": "personal",
        "purpose": "contacting the worker (常态化联系); self-service sign-in",
        "retention": _REGISTRY,
        "protection": (
            "encrypted, AES-256-GCM (PI-06), masked everywhere (PI-05), reveal audited (AC-04)"
        ),
    },
    "people.Person.phone_index": {
        "category": "pseudonymous",
        "purpose": "equality look-up of the phone (search, duplicates, self-service)",
        "retention": _REGISTRY,
        "protection": "HMAC-SHA256 with a key outside the database",
    },
    "people.Person.email": {
        "category": "personal",
        "purpose": "contacting the worker",
        "retention": _REGISTRY,
        "protection": (
            "encrypted, AES-256-GCM (PI-06), masked everywhere (PI-05), reveal audited (AC-04)"
        ),
    },
    "people.Person.political_status": {
        "category": "sensitive",
        "purpose": "registry statistics required by the 科协 returns (GB/T 4762)",
        "retention": _REGISTRY,
        "protection": "access control (scope, AC-02); only aggregated in statistics",
    },
    "people.Person.employer": {
        "category": "personal",
        "purpose": "employer statistics and scope of member units",
        "retention": _REGISTRY,
        "protection": "access control (scope, AC-02)",
    },
    "people.Person.employer_text": {
        "category": "personal",
        "purpose": "employer as typed until it is mapped to the organisation dictionary",
        "retention": _REGISTRY,
        "protection": "access control (scope, AC-02)",
    },
    "people.Person.employer_category": {
        "category": "personal",
        "purpose": "employer statistics",
        "retention": _REGISTRY,
        "protection": "access control (scope, AC-02)",
    },
    "people.Consent.ip_address": {
        "category": "personal",
        "purpose": "proof of the consent given at self-registration (PI-02)",
        "retention": _REGISTRY,
        "protection": "access control (staff of the responsible organisation)",
    },
    "people.MergeLog.snapshot": {
        "category": "sensitive",
        "purpose": "undoing a merge of duplicate records",
        "retention": "kept with the merged record; removed with it (PI-09)",
        "protection": "encrypted, AES-256-GCM (the snapshot holds the ID number and phone)",
    },
    "people.SubjectRequest.details": {
        "category": "personal",
        "purpose": "what a person asked for under PI-08 (correction text)",
        "retention": "3 years after the request was handled (PI-09 purge job)",
        "protection": "encrypted, AES-256-GCM; access control (responsible organisation)",
    },
    # --- Activities (where an activity is held, and whom to ask about it) -------------------------
    "activities.Activity.address": {
        "category": "office",
        "purpose": "where the activity takes place (a venue, village hall or school, not a home)",
        "retention": "while the activity record exists",
        "protection": "scoped access (AC-02) until published; public once published (PI-11)",
    },
    "activities.Activity.contact_name": {
        "category": "personal",
        "purpose": "whom participants and reviewers ask about an activity",
        "retention": "while the activity record exists",
        "protection": "scoped access (AC-02); not shown on public pages (PI-11)",
    },
    "activities.Activity.contact_phone": {
        "category": "personal",
        "purpose": "the number participants and reviewers call about an activity",
        "retention": "while the activity record exists",
        "protection": (
            "encrypted, AES-256-GCM (PI-06), masked everywhere (PI-05, masked_contact_phone)"
        ),
    },
    "people.OneTimeCode.phone_index": {
        "category": "pseudonymous",
        "purpose": "self-service sign-in with a one-time code",
        "retention": "until the code expires; expired codes purged daily (PI-09)",
        "protection": "HMAC-SHA256 with a key outside the database",
    },
}
