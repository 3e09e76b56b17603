"""Type-specific figures: the registry, and ``clean_figures`` refusing each kind of bad value."""

from __future__ import annotations

import pytest
from django.utils import translation

from kexie.activities.choices import CampaignKind, DemandSource, FigureKind, WinterTopic
from kexie.activities.figures import (
    FIGURES_BY_CAMPAIGN,
    clean_figures,
    clean_targets,
    figure_specs,
    missing_at_close,
    target_specs,
)

WINTER = CampaignKind.WINTER_SCIENCE


def _errors(kind, data):
    with translation.override("en"):
        values, errors = clean_figures(kind, data)
    return values, errors


# --- The registry ------------------------------------------------------------------------------


def test_winter_sessions_record_the_tally_of_the_campaign():
    keys = [spec.key for spec in figure_specs(WINTER)]
    assert keys == [
        "village",
        "topic",
        "demand_source",
        "farmers_reached",
        "expert_visits",
        "leaflets",
        "books",
        "kilometres",
    ]


def test_caravan_and_school_figures():
    assert [s.key for s in figure_specs(CampaignKind.CARAVAN)] == ["kilometres", "people_served"]
    assert [s.key for s in figure_specs(CampaignKind.SCIENTIST_SPIRIT_SCHOOLS)] == [
        "school",
        "grades",
    ]
    assert figure_specs(CampaignKind.NATIONAL_SCIENCE_DAY) == []


def test_a_key_means_the_same_figure_in_every_campaign():
    by_key = {}
    for specs in FIGURES_BY_CAMPAIGN.values():
        for spec in specs:
            assert by_key.setdefault(spec.key, spec) == spec


def test_figures_of_several_campaigns_are_merged_once_each():
    keys = [s.key for s in figure_specs([WINTER, CampaignKind.CARAVAN])]
    assert keys.count("kilometres") == 1
    assert keys[-1] == "people_served"


def test_targets_are_activities_and_the_numeric_figures():
    assert [s.key for s in target_specs(WINTER)] == [
        "activities",
        "farmers_reached",
        "expert_visits",
        "leaflets",
        "books",
        "kilometres",
    ]
    assert all(s.kind in (FigureKind.INTEGER, FigureKind.DECIMAL) for s in target_specs(WINTER))


# --- Normalisation -----------------------------------------------------------------------------


def test_a_winter_session_as_typed_on_a_phone_is_normalised():
    # given full-width digits, thousands separators, a Chinese label and spaces
    data = {
        "village": "  幸福村 ",
        "topic": WinterTopic.LIVESTOCK,
        "demand_source": DemandSource.ORDER,
        "farmers_reached": "１９１３",
        "expert_visits": 19,
        "leaflets": "10,011",
        "books": 2046.0,
        "kilometres": "２０４６．５",
    }
    # when
    values, errors = _errors(WINTER, data)
    # then
    assert errors == {}
    assert values == {
        "village": "幸福村",
        "topic": "livestock",
        "demand_source": "order",
        "farmers_reached": 1913,
        "expert_visits": 19,
        "leaflets": 10011,
        "books": 2046,
        "kilometres": 2046.5,
    }


def test_a_choice_may_be_given_by_its_label_in_the_users_language():
    with translation.override("en"):
        values, errors = clean_figures(WINTER, {"topic": "Farm machinery (农机)"})
    assert (values, errors) == ({"topic": "machinery"}, {})


def test_empty_values_are_left_out():
    values, errors = _errors(WINTER, {"village": " ", "books": None, "leaflets": ""})
    assert (values, errors) == ({}, {})


def test_decimals_are_rounded_to_two_places():
    values, _ = _errors(CampaignKind.CARAVAN, {"kilometres": "12.345"})
    assert values == {"kilometres": 12.35}


def test_zero_is_a_value():
    values, errors = _errors(WINTER, {"books": "0"})
    assert (values, errors) == ({"books": 0}, {})


# --- Each kind of bad value --------------------------------------------------------------------


def test_an_unknown_figure_is_refused():
    values, errors = _errors(WINTER, {"village": "幸福村", "horses": 3})
    assert values == {"village": "幸福村"}
    assert errors == {"horses": ["This figure does not belong to the activity's campaign."]}


def test_a_figure_of_another_campaign_is_refused():
    _, errors = _errors(CampaignKind.CARAVAN, {"farmers_reached": 10})
    assert list(errors) == ["farmers_reached"]


def test_an_activity_without_a_campaign_has_no_figures():
    _, errors = _errors(None, {"kilometres": 10})
    assert list(errors) == ["kilometres"]


@pytest.mark.parametrize("raw", [-1, "-5", "－５", -0.5])
def test_negative_counts_are_refused(raw):
    _, errors = _errors(WINTER, {"farmers_reached": raw})
    assert errors == {"farmers_reached": ["The number cannot be negative."]}


def test_a_negative_distance_is_refused():
    _, errors = _errors(WINTER, {"kilometres": "-12.5"})
    assert errors == {"kilometres": ["The number cannot be negative."]}


@pytest.mark.parametrize("raw", ["3.5", 3.5, "1913.2"])
def test_a_count_must_be_whole(raw):
    _, errors = _errors(WINTER, {"leaflets": raw})
    assert errors == {"leaflets": ["Enter a whole number."]}


@pytest.mark.parametrize("raw", ["很多", "12人", "1e5", True, float("nan"), float("inf"), [3]])
def test_text_and_other_non_numbers_are_refused_as_counts(raw):
    _, errors = _errors(WINTER, {"expert_visits": raw})
    assert errors == {"expert_visits": ["Enter a number."]}


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "二十"])
def test_non_numbers_are_refused_as_distances(raw):
    _, errors = _errors(WINTER, {"kilometres": raw})
    assert errors == {"kilometres": ["Enter a number."]}


def test_a_pasted_phone_number_is_refused_as_a_count():
    _, errors = _errors(WINTER, {"farmers_reached": "13912345678"})
    assert errors == {"farmers_reached": ["Enter a number no greater than 100,000,000."]}


def test_a_choice_outside_the_list_is_refused():
    _, errors = _errors(WINTER, {"topic": "fishing"})
    assert list(errors) == ["topic"]
    assert errors["topic"][0].startswith("Choose one of: Crop growing (种植), ")


def test_text_that_is_too_long_is_refused():
    _, errors = _errors(WINTER, {"village": "村" * 61})
    assert errors == {"village": ["Enter at most 60 characters."]}


def test_text_must_be_text():
    _, errors = _errors(WINTER, {"village": ["幸福村"]})
    assert errors == {"village": ["Enter text."]}


def test_figures_must_be_a_mapping():
    values, errors = _errors(WINTER, ["village", "幸福村"])
    assert values == {}
    assert errors == {"__all__": ["The figures must be given as figure and value."]}


def test_the_school_must_be_an_active_school(tree):
    kind = CampaignKind.SCIENTIST_SPIRIT_SCHOOLS
    # given the id of a school and of a county association
    good, good_errors = _errors(kind, {"school": str(tree.emin_school.pk), "grades": "七、八年级"})
    _, bad_errors = _errors(kind, {"school": tree.emin.pk})
    _, missing_errors = _errors(kind, {"school": 999_999})
    # then only the school is accepted
    assert good_errors == {}
    assert good == {"school": tree.emin_school.pk, "grades": "七、八年级"}
    message = ["Choose an active school from the organisation list."]
    assert bad_errors == {"school": message}
    assert missing_errors == {"school": message}


# --- Targets and what closing needs ------------------------------------------------------------


def test_targets_are_validated_like_figures():
    with translation.override("en"):
        values, errors = clean_targets(
            WINTER, {"activities": "２８", "kilometres": "2046", "village": "幸福村", "books": -1}
        )
    assert values == {"activities": 28, "kilometres": 2046.0}
    assert errors == {
        "village": ["This campaign sets no target for this figure."],
        "books": ["The number cannot be negative."],
    }


def test_closing_needs_every_required_figure_and_zero_counts():
    values, _ = _errors(
        WINTER,
        {
            "village": "幸福村",
            "topic": "health",
            "farmers_reached": 40,
            "expert_visits": 2,
            "leaflets": 0,
            "books": 0,
        },
    )
    assert missing_at_close(WINTER, values) == ["kilometres"]
