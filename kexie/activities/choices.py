"""Fixed sets of values of activities and campaigns (DOMAIN.md §5)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CampaignKind(models.TextChoices):
    """The recurring campaigns an activity can belong to. The kind decides which
    type-specific figures its activities record (``figures.py``)."""

    NATIONAL_SCIENCE_DAY = (
        "national_science_day",
        _("National Science Popularization Day / Month (全国科普日/科普月)"),
    )
    WINTER_SCIENCE = "winter_science", _("Science and Technology Winter (科技之冬)")
    SCIENCE_WEEK = "science_week", _("Science and Technology Week (科技活动周)")
    THREE_TO_COUNTRYSIDE = (
        "three_to_countryside",
        _("Culture, science and health to the countryside (三下乡)"),
    )
    CARAVAN = "caravan", _("Science caravan to the grassroots (科普大篷车基层行)")
    SCIENTIST_SPIRIT_SCHOOLS = (
        "scientist_spirit_schools",
        _("Scientist spirit in schools (科学家精神进校园)"),
    )
    VOLUNTEER_SERVICE = (
        "volunteer_service",
        _("Learn-from-Lei-Feng science volunteer service (学雷锋科技志愿服务)"),
    )
    POLITICAL_GUIDANCE = (
        "political_guidance",
        _("Political guidance of science workers (思想政治引领)"),
    )
    OTHER = "other", pgettext_lazy("campaign kind", "Other")


class ActivityType(models.TextChoices):
    LECTURE = "lecture", _("Lecture or report meeting (讲座/报告会)")
    EXHIBITION = "exhibition", _("Exhibition (展览)")
    CONSULTATION = "consultation", _("Consultation (咨询)")
    TRAINING = "training", _("Training (培训)")
    COMPETITION = "competition", _("Competition (竞赛)")
    FILM = "film", _("Science film screening (科普影视)")
    VISIT = "visit", _("Guided visit (参观)")
    FREE_CLINIC = "free_clinic", _("Free medical consultation (义诊)")
    OUTREACH_TALK = "outreach_talk", _("Outreach talk (宣讲)")
    VOLUNTEER_SERVICE = "volunteer_service", _("Volunteer service (志愿服务)")
    ACADEMIC_CONFERENCE = "academic_conference", _("Academic conference (学术会议)")
    OTHER = "other", pgettext_lazy("activity type", "Other")


class Audience(models.TextChoices):
    """The key groups of the national science literacy plan, plus the general public."""

    YOUTH = "youth", _("Young people (青少年)")
    FARMERS = "farmers", _("Farmers and herders (农民/农牧民)")
    INDUSTRIAL_WORKERS = "industrial_workers", _("Industrial workers (产业工人)")
    ELDERLY = "elderly", _("Older people (老年人)")
    OFFICIALS = "officials", _("Leading cadres and civil servants (领导干部)")
    COMMUNITY_RESIDENTS = "community_residents", _("Community residents (社区居民)")
    PUBLIC = "public", _("General public (社会公众)")


class ActivityLanguage(models.TextChoices):
    """Languages an activity is held in (DOMAIN.md §3: 汉/哈/维/蒙); bilingual is common."""

    CHINESE = "zh", _("Chinese (汉语)")
    KAZAKH = "kk", _("Kazakh (哈萨克语)")
    UYGHUR = "ug", _("Uyghur (维吾尔语)")
    MONGOLIAN = "mn", _("Mongolian (蒙古语)")
    RUSSIAN = "ru", _("Russian (俄语)")


class ActivityStatus(models.TextChoices):
    """Where an activity stands in the review chain (services.ALLOWED_TRANSITIONS)."""

    DRAFT = "draft", pgettext_lazy("activity status", "Draft")
    SUBMITTED = "submitted", _("Awaiting county review")
    COUNTY_APPROVED = "county_approved", _("Approved by the county, awaiting prefecture review")
    PUBLISHED = "published", pgettext_lazy("activity status", "Published")
    RETURNED = "returned", pgettext_lazy("activity status", "Returned for correction")
    REJECTED = "rejected", pgettext_lazy("activity status", "Rejected")
    CANCELLED = "cancelled", pgettext_lazy("activity status", "Cancelled")
    CLOSED = "closed", pgettext_lazy("activity status", "Closed")


class ActivityAction(models.TextChoices):
    """A step of the review chain; each one is an ``ActivityReview`` row.

    An approval publishes an ordinary activity and passes a key activity on to the prefecture;
    the row's ``status_after`` tells which.
    """

    SUBMIT = "submit", _("Submit for review")
    APPROVE = "approve", pgettext_lazy("activity review", "Approve")
    RETURN = "return", pgettext_lazy("activity review", "Return for correction")
    REJECT = "reject", pgettext_lazy("activity review", "Reject")
    CANCEL = "cancel", _("Cancel the activity")


class SignupMode(models.TextChoices):
    NONE = "none", _("No sign-up")
    OPEN = "open", _("Open sign-up")
    APPROVAL = "approval", _("Sign-up with approval")


class WinterTopic(models.TextChoices):
    """Topics of 科技之冬 training sessions."""

    PLANTING = "planting", _("Crop growing (种植)")
    LIVESTOCK = "livestock", _("Animal husbandry (养殖)")
    ORCHARDS = "orchards", _("Forestry and fruit (林果)")
    MACHINERY = "machinery", _("Farm machinery (农机)")
    HEALTH = "health", _("Health (健康)")
    POLICY = "policy", _("Policy outreach (政策宣讲)")


class DemandSource(models.TextChoices):
    """How a 科技之冬 session came about: picked from a menu, or ordered by a village."""

    MENU = "menu", _("Chosen from the menu (点菜)")
    ORDER = "order", _("Ordered by the village (订单)")


class FigureKind(models.TextChoices):
    """The value kinds of type-specific figures (``figures.py``)."""

    INTEGER = "int", _("Whole number")
    DECIMAL = "decimal", _("Number")
    TEXT = "text", _("Text")
    CHOICE = "choice", _("Choice")
    ORGANISATION = "organisation", _("Organisation")
