"""Fixed sets of values of the talent registry (人才库)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PersonSource(models.TextChoices):
    SELF = "self", _("Self-registration")
    IMPORT = "import", _("Import")
    STAFF = "staff", _("Entered by staff")


class ReviewStatus(models.TextChoices):
    """Where a record stands in review (REG-02). Only verified records count toward targets."""

    PENDING = "pending", _("Awaiting county review")
    PENDING_PREFECTURE = "pending_prefecture", _("Awaiting prefecture review")
    RETURNED = "returned", _("Returned for correction")
    VERIFIED = "verified", pgettext_lazy("review status", "Verified")
    REJECTED = "rejected", _("Rejected")


class ReviewDecision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    RETURN = "return", _("Return for correction")
    REJECT = "reject", _("Reject")
    RESUBMIT = "resubmit", _("Resubmitted")


class EmployerCategory(models.TextChoices):
    GOVERNMENT = "government", _("Government agency")
    PUBLIC_INSTITUTION = "public_institution", _("Public institution")
    ENTERPRISE = "enterprise", _("Enterprise")
    SOCIAL_ORGANISATION = "social_organisation", _("Social organisation")
    VILLAGE = "village", _("Village or community")
    OTHER = "other", _("Other")


class ContactChannel(models.TextChoices):
    VISIT = "visit", _("Visit")
    PHONE = "phone", _("Telephone")
    MEETING = "meeting", _("Meeting")
    MESSAGE = "message", _("Message (WeChat, SMS)")
    LETTER = "letter", _("Letter or e-mail")
    OTHER = "other", _("Other")


class AgeBand(models.TextChoices):
    UNDER_35 = "u35", _("Under 35")
    FROM_35_TO_44 = "35_44", _("35 to 44")
    FROM_45_TO_54 = "45_54", _("45 to 54")
    FROM_55_TO_64 = "55_64", _("55 to 64")
    FROM_65 = "65", _("65 and older")


class DuplicateReason(models.TextChoices):
    ID_NUMBER = "id_number", _("Same ID number")
    PHONE = "phone", _("Same mobile number")
    NAME_BIRTH_EMPLOYER = "name_birth_employer", _("Same name, birth date and employer")


class DuplicateCertainty(models.TextChoices):
    CERTAIN = "certain", _("Certain")
    PROBABLE = "probable", _("Probable")


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Not the same person")


class ConsentKind(models.TextChoices):
    PRIVACY = "privacy", _("Privacy notice")
    ID_NUMBER = "id_number", _("ID number (sensitive)")
    GUARDIAN = "guardian", _("Guardian's consent for a minor")


class SubjectRequestKind(models.TextChoices):
    ACCESS = "access", _("See or download my data")
    CORRECTION = "correction", _("Correct my data")
    WITHDRAW = "withdraw", _("Withdraw consent")
    DELETION = "deletion", _("Delete my data")


class SubjectRequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused")


class RequestChannel(models.TextChoices):
    SELF = "self", _("By the person online")
    STAFF = "staff", _("Recorded by staff")
