"""The review chain: unit drafts → county → prefecture for key activities → published.

The matrix walks every status × every action against an oracle written out here (not read
from ``ALLOWED_TRANSITIONS``); the stateful test runs random sequences of steps by random
personas against a model of who may do what.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from kexie.activities.choices import ActivityAction, ActivityStatus
from kexie.activities.models import Activity, ActivityReview
from kexie.activities.selectors import activity_get, review_queue
from kexie.activities.services import (
    ALLOWED_TRANSITIONS,
    activity_cancel,
    activity_review,
    activity_submit,
    activity_update,
)
from kexie.activities.tests.factories import in_days, make_activity
from kexie.core.choices import AuditOutcome
from kexie.core.models import AuditEvent

S = ActivityStatus
A = ActivityAction

# The oracle: (status, action) → status after, for an ordinary and for a key activity.
EXPECTED: dict[tuple[str, str], tuple[str, str]] = {
    (S.DRAFT, A.SUBMIT): (S.SUBMITTED, S.SUBMITTED),
    (S.RETURNED, A.SUBMIT): (S.SUBMITTED, S.SUBMITTED),
    (S.SUBMITTED, A.APPROVE): (S.PUBLISHED, S.COUNTY_APPROVED),
    (S.SUBMITTED, A.RETURN): (S.RETURNED, S.RETURNED),
    (S.SUBMITTED, A.REJECT): (S.REJECTED, S.REJECTED),
    (S.COUNTY_APPROVED, A.APPROVE): (S.PUBLISHED, S.PUBLISHED),
    (S.COUNTY_APPROVED, A.RETURN): (S.RETURNED, S.RETURNED),
    (S.COUNTY_APPROVED, A.REJECT): (S.REJECTED, S.REJECTED),
    (S.DRAFT, A.CANCEL): (S.CANCELLED, S.CANCELLED),
    (S.SUBMITTED, A.CANCEL): (S.CANCELLED, S.CANCELLED),
    (S.COUNTY_APPROVED, A.CANCEL): (S.CANCELLED, S.CANCELLED),
    (S.RETURNED, A.CANCEL): (S.CANCELLED, S.CANCELLED),
    (S.PUBLISHED, A.CANCEL): (S.CANCELLED, S.CANCELLED),
}
# The level each step is decided at: 0 the organiser, 1 the county, 2 the prefecture.
LEVEL = {
    (S.DRAFT, A.SUBMIT): 0,
    (S.RETURNED, A.SUBMIT): 0,
    (S.SUBMITTED, A.APPROVE): 1,
    (S.SUBMITTED, A.RETURN): 1,
    (S.SUBMITTED, A.REJECT): 1,
    (S.COUNTY_APPROVED, A.APPROVE): 2,
    (S.COUNTY_APPROVED, A.RETURN): 2,
    (S.COUNTY_APPROVED, A.REJECT): 2,
}
NEEDS_REASON = {
    (S.SUBMITTED, A.RETURN),
    (S.SUBMITTED, A.REJECT),
    (S.COUNTY_APPROVED, A.RETURN),
    (S.COUNTY_APPROVED, A.REJECT),
    (S.SUBMITTED, A.CANCEL),
    (S.COUNTY_APPROVED, A.CANCEL),
    (S.RETURNED, A.CANCEL),
    (S.PUBLISHED, A.CANCEL),
}


def _take(actor, activity, action: str, reason: str = "") -> Activity:
    if action == A.SUBMIT:
        return activity_submit(actor=actor, activity=activity)
    if action == A.CANCEL:
        return activity_cancel(actor=actor, activity=activity, reason=reason)
    return activity_review(actor=actor, activity=activity, decision=action, reason=reason)


def _in_status(organiser, status: str, *, key: bool = False) -> Activity:
    """An activity put straight into ``status`` (set-up only: no service reaches ``closed``
    yet, and each matrix cell should not depend on the others)."""
    activity = make_activity(organiser, is_key_activity=key)
    Activity.objects.filter(pk=activity.pk).update(status=status)
    activity.refresh_from_db()
    return activity


def _events(activity, outcome=AuditOutcome.SUCCESS):
    return AuditEvent.objects.filter(
        object_type="activities.activity", object_id=str(activity.pk), outcome=outcome
    ).exclude(event_type="activity.create")


def test_the_transition_table_is_the_oracle():
    assert set(ALLOWED_TRANSITIONS) == set(EXPECTED)
    for key, step in ALLOWED_TRANSITIONS.items():
        assert step.level == LEVEL.get(key, 0), key
        assert step.needs_reason == (key in NEEDS_REASON), key


@pytest.mark.parametrize("key", [False, True], ids=["ordinary", "key"])
@pytest.mark.parametrize("action", A.values)
@pytest.mark.parametrize("status", S.values)
def test_every_status_and_action(tree, prefecture_admin, status, action, key):
    # given an activity in ``status`` and an actor holding every right (the prefecture's
    # unit administrator: change and review over the whole tree)
    activity = _in_status(tree.emin_town, status, key=key)
    expected = EXPECTED.get((status, action))
    # when the actor takes the step, with a reason
    if expected is None:
        # then a step the table does not allow is refused and nothing changes
        with pytest.raises(ValidationError):
            _take(prefecture_admin, activity, action, reason="材料需要补充")
        activity.refresh_from_db()
        assert activity.status == status
        assert not ActivityReview.objects.filter(activity=activity).exists()
        assert not _events(activity).exists()
        return
    _take(prefecture_admin, activity, action, reason="材料需要补充")
    # then it lands where the oracle says, with one review row and one audit event
    activity.refresh_from_db()
    assert activity.status == expected[int(key)]
    review = ActivityReview.objects.get(activity=activity)
    assert (review.decision, review.status_before, review.status_after) == (
        action,
        status,
        expected[int(key)],
    )
    assert review.level == LEVEL.get((status, action), 0)
    assert review.reviewer == prefecture_admin
    assert _events(activity).count() == 1


# --- The chain as the personas walk it ---------------------------------------------------------


def test_an_ordinary_activity_is_published_by_the_county(tree, county_clerk, county_reviewer):
    # given a draft of the 额敏镇 association
    activity = make_activity(tree.emin_town, actor=county_clerk)
    # when the clerk submits it and the county reviewer approves it
    activity_submit(actor=county_clerk, activity=activity)
    activity_review(actor=county_reviewer, activity=activity, decision=A.APPROVE)
    # then it is published, by the county, with both steps recorded
    activity.refresh_from_db()
    assert activity.status == S.PUBLISHED
    assert activity.review_level == 1
    assert activity.submitted_at is not None and activity.published_at is not None
    assert list(activity.reviews.values_list("decision", "level", "reviewer__username")) == [
        ("submit", 0, "emin_clerk"),
        ("approve", 1, "emin_reviewer"),
    ]


def test_a_key_activity_waits_for_the_prefecture(
    tree, county_clerk, county_reviewer, prefecture_reviewer
):
    # given a submitted key activity
    activity = make_activity(tree.emin_town, actor=county_clerk, is_key_activity=True)
    activity_submit(actor=county_clerk, activity=activity)
    # when the county approves it
    activity_review(actor=county_reviewer, activity=activity, decision=A.APPROVE)
    # then it waits for the prefecture, which the county reviewer cannot decide
    activity.refresh_from_db()
    assert (activity.status, activity.published_at) == (S.COUNTY_APPROVED, None)
    with pytest.raises(PermissionDenied):
        activity_review(actor=county_reviewer, activity=activity, decision=A.APPROVE)
    # when the prefecture reviewer approves it
    activity_review(actor=prefecture_reviewer, activity=activity, decision=A.APPROVE)
    # then it is published at level 2
    activity.refresh_from_db()
    assert (activity.status, activity.review_level) == (S.PUBLISHED, 2)


def test_return_needs_a_reason(tree, county_clerk, county_reviewer):
    activity = make_activity(tree.emin_town)
    activity_submit(actor=county_clerk, activity=activity)
    # when the reviewer returns it without a reason
    with pytest.raises(ValidationError) as excinfo:
        activity_review(actor=county_reviewer, activity=activity, decision=A.RETURN, reason="  ")
    # then it is refused on the reason field and nothing changed
    assert "reason" in excinfo.value.message_dict
    activity.refresh_from_db()
    assert activity.status == S.SUBMITTED
    assert activity.reviews.count() == 1


def test_a_returned_activity_is_corrected_and_resubmitted(tree, county_clerk, county_reviewer):
    # given an activity returned with a reason
    activity = make_activity(tree.emin_town)
    activity_submit(actor=county_clerk, activity=activity)
    activity_review(
        actor=county_reviewer, activity=activity, decision=A.RETURN, reason="请补充活动地址"
    )
    activity.refresh_from_db()
    assert (activity.status, activity.returned_reason) == (S.RETURNED, "请补充活动地址")
    # when the clerk corrects and resubmits it
    changed = activity_update(
        actor=county_clerk, activity=activity, data={"address": "额敏镇幸福村村委会"}
    )
    activity_submit(actor=county_clerk, activity=activity)
    # then it waits for the county again, the old reason cleared
    activity.refresh_from_db()
    assert changed == ["address"]
    assert (activity.status, activity.returned_reason) == (S.SUBMITTED, "")


def test_a_rejection_is_final(tree, county_clerk, county_reviewer):
    activity = make_activity(tree.emin_town)
    activity_submit(actor=county_clerk, activity=activity)
    activity_review(actor=county_reviewer, activity=activity, decision=A.REJECT, reason="重复填报")
    # when the clerk tries to submit or change it again
    with pytest.raises(ValidationError):
        activity_submit(actor=county_clerk, activity=activity)
    with pytest.raises(ValidationError):
        activity_update(actor=county_clerk, activity=activity, data={"title": "再次提交"})
    # then it stays rejected
    activity.refresh_from_db()
    assert activity.status == S.REJECTED


def test_only_drafts_and_returned_activities_can_be_changed(tree, county_clerk):
    activity = make_activity(tree.emin_town, title="原标题")
    activity_submit(actor=county_clerk, activity=activity)
    # when
    with pytest.raises(ValidationError):
        activity_update(actor=county_clerk, activity=activity, data={"title": "新标题"})
    # then
    activity.refresh_from_db()
    assert activity.title == "原标题"


def test_an_unknown_decision_is_refused(tree, county_reviewer):
    activity = _in_status(tree.emin_town, S.SUBMITTED)
    with pytest.raises(ValidationError):
        activity_review(actor=county_reviewer, activity=activity, decision=A.SUBMIT)
    activity.refresh_from_db()
    assert activity.status == S.SUBMITTED


def test_the_wrong_step_says_why_in_the_users_language(tree, county_clerk):
    from django.utils import translation

    activity = _in_status(tree.emin_town, S.PUBLISHED)
    # when, in English
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        activity_submit(actor=county_clerk, activity=activity)
    # then the message names the step and the status
    assert excinfo.value.messages == [
        "“Submit for review” is not possible while the activity is “Published”."
    ]


# --- Cancelling --------------------------------------------------------------------------------


def test_the_organiser_cancels_a_published_activity_with_a_reason(
    tree, county_clerk, county_reviewer
):
    activity = make_activity(tree.emin_town)
    activity_submit(actor=county_clerk, activity=activity)
    activity_review(actor=county_reviewer, activity=activity, decision=A.APPROVE)
    # when without a reason, then with one
    with pytest.raises(ValidationError):
        activity_cancel(actor=county_clerk, activity=activity)
    activity_cancel(actor=county_clerk, activity=activity, reason="暴雪天气，道路封闭")
    # then
    activity.refresh_from_db()
    assert activity.status == S.CANCELLED
    assert activity.reviews.last().reason == "暴雪天气，道路封闭"


def test_a_draft_is_cancelled_without_a_reason(tree, county_clerk):
    activity = make_activity(tree.emin_town)
    activity_cancel(actor=county_clerk, activity=activity)
    activity.refresh_from_db()
    assert activity.status == S.CANCELLED


def test_an_activity_that_has_started_cannot_be_cancelled(tree, county_clerk):
    # given an activity that started yesterday
    activity = make_activity(tree.emin_town, starts_at=in_days(-1), ends_at=in_days(-1, 18))
    # when
    with pytest.raises(ValidationError):
        activity_cancel(actor=county_clerk, activity=activity, reason="补录")
    # then
    activity.refresh_from_db()
    assert activity.status == S.DRAFT


def test_a_reviewer_without_the_change_right_cannot_cancel(tree, county_reviewer):
    activity = _in_status(tree.emin_town, S.PUBLISHED)
    with pytest.raises(PermissionDenied):
        activity_cancel(actor=county_reviewer, activity=activity, reason="天气原因")
    activity.refresh_from_db()
    assert activity.status == S.PUBLISHED


# --- Scope -------------------------------------------------------------------------------------


def test_a_county_reviewer_cannot_review_another_countys_activity(tree, toli_reviewer):
    # given a submitted activity of 额敏
    activity = _in_status(tree.emin_town, S.SUBMITTED)
    # when the 托里 reviewer tries to approve it
    with pytest.raises(PermissionDenied):
        activity_review(actor=toli_reviewer, activity=activity, decision=A.APPROVE)
    # then it does not exist for them, nothing changed, and the refusal is audited
    with pytest.raises(Http404):
        activity_get(user=toli_reviewer, pk=activity.pk)
    activity.refresh_from_db()
    assert activity.status == S.SUBMITTED
    assert not activity.reviews.exists()
    denied = AuditEvent.objects.get(
        object_id=str(activity.pk), outcome=AuditOutcome.DENIED, event_type="activity.review"
    )
    assert denied.actor == toli_reviewer


def test_the_refusal_does_not_tell_an_outsider_the_status(tree, outsider):
    # given a published activity: "approve" is not a step from there
    activity = _in_status(tree.emin_town, S.PUBLISHED)
    # when the 托里 admin asks for it, the answer is "not allowed", not "wrong status"
    with pytest.raises(PermissionDenied):
        activity_review(actor=outsider, activity=activity, decision=A.APPROVE)


def test_a_unit_cannot_review_its_own_activity(tree, school_admin, county_reviewer):
    # given a submitted activity of 额敏县第一中学, whose unit admin holds the review right
    # over the school
    activity = make_activity(tree.emin_school, actor=school_admin)
    activity_submit(actor=school_admin, activity=activity)
    # when the school's admin approves it
    with pytest.raises(PermissionDenied):
        activity_review(actor=school_admin, activity=activity, decision=A.APPROVE)
    # then it still waits for the county, and is in the county's queue only
    activity.refresh_from_db()
    assert activity.status == S.SUBMITTED
    assert list(review_queue(user=school_admin, level=1)) == []
    assert list(review_queue(user=county_reviewer, level=1)) == [activity]


def test_the_prefecture_reviews_level_one_for_units_directly_below_it(
    tree, county_reviewer, prefecture_reviewer
):
    # given a submitted activity of the prefecture's 农学会 (in no county)
    activity = _in_status(tree.society, S.SUBMITTED)
    # when the county reviewer tries, then the prefecture reviewer decides
    with pytest.raises(PermissionDenied):
        activity_review(actor=county_reviewer, activity=activity, decision=A.APPROVE)
    activity_review(actor=prefecture_reviewer, activity=activity, decision=A.APPROVE)
    # then
    activity.refresh_from_db()
    assert (activity.status, activity.review_level) == (S.PUBLISHED, 1)


def test_queues_hold_what_each_reviewer_decides(
    tree, county_reviewer, toli_reviewer, prefecture_reviewer
):
    # given submitted activities in both counties and key activities approved by both counties
    emin_submitted = _in_status(tree.emin_town, S.SUBMITTED)
    toli_submitted = _in_status(tree.toli_town, S.SUBMITTED)
    emin_key = _in_status(tree.emin_town, S.COUNTY_APPROVED, key=True)
    toli_key = _in_status(tree.toli_town, S.COUNTY_APPROVED, key=True)
    _in_status(tree.emin_town, S.DRAFT)
    # then each reviewer's queue holds exactly the steps they may decide
    assert set(review_queue(user=county_reviewer, level=1)) == {emin_submitted}
    assert set(review_queue(user=toli_reviewer, level=1)) == {toli_submitted}
    assert list(review_queue(user=county_reviewer, level=2)) == []
    assert set(review_queue(user=prefecture_reviewer, level=2)) == {emin_key, toli_key}
    assert set(review_queue(user=prefecture_reviewer, level=1)) == {
        emin_submitted,
        toli_submitted,
    }


def test_a_second_reviewer_cannot_decide_the_same_step(tree, county_reviewer, county_admin):
    # given two reviewers who both opened the same submitted activity
    activity = _in_status(tree.emin_town, S.SUBMITTED)
    seen_by_first = Activity.objects.get(pk=activity.pk)
    seen_by_second = Activity.objects.get(pk=activity.pk)
    # when the first approves and the second, a moment later, returns it
    activity_review(actor=county_reviewer, activity=seen_by_first, decision=A.APPROVE)
    with pytest.raises(ValidationError):
        activity_review(
            actor=county_admin, activity=seen_by_second, decision=A.RETURN, reason="过时的页面"
        )
    # then only the first decision counts
    activity.refresh_from_db()
    assert activity.status == S.PUBLISHED
    assert list(activity.reviews.values_list("decision", flat=True)) == ["approve"]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite locks the file)"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_on_postgresql_take_one_step(tree, county_reviewer, county_admin):
    import threading

    from django.db import connections

    # given a submitted activity and two reviewers deciding at the same moment
    activity = _in_status(tree.emin_town, S.SUBMITTED)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(actor, decision, reason):
        try:
            barrier.wait()
            activity_review(actor=actor, activity=activity, decision=decision, reason=reason)
            outcomes.append("done")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=decide, args=(county_reviewer, A.APPROVE, "")),
        threading.Thread(target=decide, args=(county_admin, A.RETURN, "同时退回")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then exactly one of them took the step
    assert sorted(outcomes) == ["done", "refused"]
    assert ActivityReview.objects.filter(activity_id=activity.pk).count() == 1


# --- Random sequences (hypothesis, stateful) ---------------------------------------------------

# Who may take a step of each level, by persona (the model the services must match).
RIGHTS = {
    "clerk": {0},
    "county_reviewer": {1},
    "prefecture_reviewer": {1, 2},
    "outsider": set(),
}
REASONS = ["", "请补充材料"]


def test_random_sequences_keep_the_chain_consistent(
    tree, county_clerk, county_reviewer, prefecture_reviewer, outsider
):
    personas = {
        "clerk": county_clerk,
        "county_reviewer": county_reviewer,
        "prefecture_reviewer": prefecture_reviewer,
        "outsider": outsider,
    }

    class Chain(RuleBasedStateMachine):
        activity: Activity | None = None

        @initialize(key=st.booleans())
        def draft(self, key):
            self.activity = make_activity(tree.emin_town, is_key_activity=key)
            self.expected = S.DRAFT
            self.steps = 0
            self.refusals = 0

        @rule(
            action=st.sampled_from(A.values),
            who=st.sampled_from(sorted(personas)),
            reason=st.sampled_from(REASONS),
        )
        def anyone_tries_anything(self, action, who, reason):
            self.check(action, who, reason)

        # Steps the organiser and the reviewers usually take, so that sequences get far
        # along the chain (to county_approved, published, back from returned) often.
        @rule(action=st.sampled_from([A.SUBMIT, A.CANCEL]), reason=st.sampled_from(REASONS))
        def organiser_acts(self, action, reason):
            self.check(action, "clerk", reason)

        @rule(
            decision=st.sampled_from([A.APPROVE, A.APPROVE, A.RETURN, A.REJECT]),
            who=st.sampled_from(["county_reviewer", "prefecture_reviewer"]),
            reason=st.sampled_from(REASONS),
        )
        def reviewer_decides(self, decision, who, reason):
            self.check(decision, who, reason)

        def check(self, action, who, reason):
            # the model's answer
            key = (self.expected, action)
            if who == "outsider":
                model = "denied"
            elif key not in EXPECTED:
                model = "invalid"
            elif LEVEL.get(key, 0) not in RIGHTS[who]:
                model = "denied"
            elif key in NEEDS_REASON and not reason:
                model = "invalid"
            else:
                model = EXPECTED[key][int(self.activity.is_key_activity)]
            # the services' answer
            try:
                _take(personas[who], self.activity, action, reason)
                actual = Activity.objects.get(pk=self.activity.pk).status
            except PermissionDenied:
                actual = "denied"
            except ValidationError:
                actual = "invalid"
            assert actual == model
            if actual == "denied":
                self.refusals += 1
            elif actual != "invalid":
                self.expected = actual
                self.steps += 1

        @invariant()
        def consistent(self):
            if self.activity is None:
                return
            status = Activity.objects.values_list("status", flat=True).get(pk=self.activity.pk)
            assert status in S.values
            assert status == self.expected
            # every step wrote one review row and one audit event; every refusal one event
            assert ActivityReview.objects.filter(activity=self.activity).count() == self.steps
            assert _events(self.activity).count() == self.steps
            assert _events(self.activity, AuditOutcome.DENIED).count() == self.refusals

    run_state_machine_as_test(
        Chain,
        settings=settings(
            max_examples=40,
            stateful_step_count=15,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
