from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.TextChoices):
    PREFECTURE = "prefecture", _("Prefecture")
    COUNTY = "county", _("County / city")
    TOWNSHIP = "township", _("Township / street")


class TownshipKind(models.TextChoices):
    STREET = "street", _("Street (街道)")
    TOWN = "town", _("Town (镇)")
    TOWNSHIP = "township", _("Township (乡)")
    FARM = "farm", _("Farm, pasture, forest farm or park")
    XPCC = "xpcc", _("XPCC unit (兵团)")


class CodeTable(models.TextChoices):
    GENDER = "gender", _("Gender (GB/T 2261.1)")
    ETHNICITY = "ethnicity", _("Ethnic group (GB/T 3304)")
    POLITICAL_STATUS = "political_status", _("Political status (GB/T 4762)")
    EDUCATION = "education", _("Education (GB/T 4658)")
    DEGREE = "degree", _("Degree (GB/T 6864)")
    TITLE = "title", _("Professional title (GB/T 8561)")
    DISCIPLINE = "discipline", _("Discipline (GB/T 13745)")
    WORKER_TYPE = "worker_type", _("Science and technology worker type")


class TitleLevel(models.TextChoices):
    SENIOR = "senior", _("Senior (正高)")
    ASSOCIATE_SENIOR = "associate_senior", _("Associate senior (副高)")
    INTERMEDIATE = "intermediate", _("Intermediate (中级)")
    ASSISTANT = "assistant", _("Assistant (助理)")
    JUNIOR = "junior", _("Junior (员级)")
    NONE = "none", _("None")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class ImportStatus(models.TextChoices):
    VALIDATING = "validating", _("Validating")
    INVALID = "invalid", _("Has errors")
    VALID = "valid", _("Ready to import")
    COMMITTING = "committing", _("Importing")
    COMMITTED = "committed", _("Imported")
    UNDONE = "undone", _("Undone")
    FAILED = "failed", _("Failed")


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    DENIED = "denied", _("Denied")
    FAILURE = "failure", _("Failure")
