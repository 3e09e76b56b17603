from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganisationKind(models.TextChoices):
    """The kinds of DOMAIN.md §2."""

    PREFECTURE_ASSOCIATION = "prefecture_association", _("Prefecture association (地区科协)")
    COUNTY_ASSOCIATION = "county_association", _("County / city association (县市科协)")
    TOWNSHIP_ASSOCIATION = "township_association", _("Township / street association (乡镇科协)")
    VILLAGE = "village", _("Village / community station (村/社区科普站)")
    SOCIETY = "society", _("Learned society (学会)")
    ENTERPRISE_ASSOCIATION = "enterprise_association", _("Enterprise association (企业科协)")
    PARK_ASSOCIATION = "park_association", _("Park association (园区科协)")
    UNIVERSITY_ASSOCIATION = "university_association", _("University association (高校科协)")
    MEMBER_UNIT = "member_unit", _("Member unit (成员单位)")
    SCHOOL = "school", _("School (学校)")
    AGRI_TECH_ASSOCIATION = "agri_tech_association", _("Rural technical association (农技协)")
    VENUE_HOST = "venue_host", _("Venue host unit (阵地依托单位)")
    EMPLOYER = "employer", _("Employer (工作单位)")


# Kinds that are a 科协 at a region; their code is "KX" + the region code.
ASSOCIATION_KINDS = frozenset(
    {
        OrganisationKind.PREFECTURE_ASSOCIATION,
        OrganisationKind.COUNTY_ASSOCIATION,
        OrganisationKind.TOWNSHIP_ASSOCIATION,
    }
)


class OrganisationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    DISSOLVED = "dissolved", _("Dissolved")
