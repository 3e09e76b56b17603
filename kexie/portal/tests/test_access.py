"""AC-01 default deny and the persona matrix over every view (AC-02, STYLE.md 16)."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from kexie.core.models import ImportLog, Job

# Views reachable without a login, by URL name. Everything else must refuse anonymous users.
PUBLIC_URL_NAMES = {
    "accounts:login",
    "accounts:activate",
    "portal:healthz",
    "set_language",
    # self-registration and the self-service pages (REG-01, PI-08)
    "register:register",
    "register:status",
    "register:status_detail",
    "register:resubmit",
    "register:me",
    "register:me_verify",
    "register:me_record",
    "register:me_download",
    "register:me_request",
    "register:me_withdraw",
    "register:me_signout",
}


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}{p.namespace}:"
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), (namespace + p.name) if p.name else None


def _concrete(route: str) -> str:
    import re

    route = route.lstrip("^").rstrip("$").replace("\\Z", "")
    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<(?:str:|path:|slug:)?\w+>", "x", route)
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "x", route)
    return "/" + route.replace("\\", "")


@pytest.mark.django_db
def test_every_url_is_public_or_refused_to_anonymous_users(client):
    # given every URL pattern of the project
    routes = list(_walk(get_resolver().url_patterns))
    assert len(routes) > 20
    offenders = []
    for route, name in routes:
        if name in PUBLIC_URL_NAMES:
            continue
        url = _concrete(route)
        # when an anonymous user asks for it
        response = client.get(url)
        # then it redirects to a login page (or the URL does not exist as concrete)
        location = response.headers.get("Location", "")
        refused = response.status_code in (302, 301) and "login" in location
        if not refused and response.status_code != 404:
            offenders.append((url, name, response.status_code))
    assert offenders == []


@pytest.mark.django_db
def test_public_urls_answer_anonymous_users(client, tree):
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/healthz").status_code == 200


# --- the persona matrix -----------------------------------------------------------------------

PERSONAS = [
    "anonymous",
    "no_role",
    "county_viewer",
    "county_clerk",
    "county_reviewer",
    "county_admin",
    "outsider",
    "prefecture_admin",
    "system_admin",
    "security_admin",
    "audit_admin",
]

L = "login"  # redirect to the login page

# url id -> expected status per persona, in the order of PERSONAS.
# fmt: off
MATRIX: dict[str, tuple] = {
    #                        anon no   view clerk rev  cadm out  padm sys  sec  aud
    "dashboard":            (L,   200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "jobs":                 (L,   200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "job_own":              (L,   404, 404, 404, 404, 200, 404, 404, 404, 404, 404),
    "audit":                (L,   403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "audit_search":         (L,   403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "audit_detail":         (L,   403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "audit_export":         (L,   403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "password":             (L,   200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "tree":                 (L,   403, 200, 200, 200, 200, 200, 200, 200, 200, 403),
    "search":               (L,   403, 200, 200, 200, 200, 200, 200, 200, 200, 403),
    "list":                 (L,   403, 200, 200, 200, 200, 200, 200, 200, 200, 403),
    "list_under_emin":      (L,   403, 200, 200, 200, 200, 404, 200, 200, 200, 403),
    "detail_emin_school":   (L,   404, 200, 200, 200, 200, 404, 200, 200, 200, 404),
    "detail_toli_town":     (L,   404, 404, 404, 404, 404, 200, 200, 200, 200, 404),
    "children_emin":        (L,   404, 200, 200, 200, 200, 404, 200, 200, 200, 404),
    "create_under_emin":    (L,   404, 403, 200, 403, 200, 404, 200, 200, 403, 404),
    "create_under_toli":    (L,   404, 404, 404, 404, 404, 200, 200, 200, 403, 404),
    "edit_emin_school":     (L,   404, 403, 200, 403, 200, 404, 200, 200, 403, 404),
    "move_emin_school":     (L,   404, 403, 403, 403, 200, 404, 200, 200, 403, 404),
    "dissolve_emin_school": (L,   404, 403, 403, 403, 200, 404, 200, 200, 403, 404),
    "import":               (L,   403, 403, 200, 403, 200, 200, 200, 200, 403, 403),
    "import_template":      (L,   403, 403, 200, 403, 200, 200, 200, 200, 403, 403),
    "export":               (L,   403, 403, 403, 200, 200, 200, 200, 200, 403, 403),
    "export_subtree_emin":  (L,   404, 403, 403, 200, 200, 404, 200, 200, 403, 404),
    "import_log_own":       (L,   403, 403, 404, 403, 200, 404, 404, 404, 403, 403),
    "otp":                  (L,   200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "otp_setup":            (L,   200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "sessions":             (L,   200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "profile":              (L,   200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "profile_phone":        (L,   302, 302, 302, 302, 302, 302, 302, 302, 302, 302),  # reauth
    "phone_reveal_get":     (L,   405, 405, 405, 405, 405, 405, 405, 405, 405, 405),  # POST
    # 三员分立 (AC-06/07): the 系统管理员's and the 安全管理员's pages
    "admin_users":          (L,   403, 403, 403, 403, 403, 403, 403, 200, 403, 403),
    "admin_users_search":   (L,   403, 403, 403, 403, 403, 403, 403, 200, 403, 403),
    "admin_user_new":       (L,   403, 403, 403, 403, 403, 403, 403, 200, 403, 403),
    "admin_user_detail":    (L,   403, 403, 403, 403, 403, 403, 403, 200, 403, 403),
    "admin_user_disable":   (L,   403, 403, 403, 403, 403, 403, 403, 200, 403, 403),
    "admin_user_enable":    (L,   403, 403, 403, 403, 403, 403, 403, 405, 403, 403),  # POST
    "admin_roles":          (L,   403, 403, 403, 403, 403, 403, 403, 403, 200, 403),
    "admin_role_grant":     (L,   403, 403, 403, 403, 403, 403, 403, 403, 302, 403),  # reauth
    "admin_otp_reset":      (L,   403, 403, 403, 403, 403, 403, 403, 403, 302, 403),  # reauth
    "admin_role_revoke":    (L,   403, 403, 403, 403, 403, 403, 403, 403, 302, 403),  # reauth
    "admin_unlock_list":    (L,   403, 403, 403, 403, 403, 403, 403, 403, 200, 403),
    "admin_unlock":         (L,   403, 403, 403, 403, 403, 403, 403, 403, 405, 403),  # POST
    "system_parameters":    (L,   403, 403, 403, 403, 403, 403, 403, 200, 403, 403),
    "security_parameters":  (L,   403, 403, 403, 403, 403, 403, 403, 403, 200, 403),
    "backups":              (L,   403, 403, 403, 403, 403, 403, 403, 200, 403, 403),
    "backup_create":        (L,   405, 405, 405, 405, 405, 405, 405, 405, 405, 405),  # POST
}
# fmt: on


def _url(name: str, tree, job: Job, log: ImportLog) -> str:
    t = tree
    return {
        "dashboard": "/",
        "jobs": "/jobs/",
        "job_own": f"/jobs/{job.pk}/",
        "audit": "/audit/",
        "audit_search": "/audit/?event=org.&outcome=success&date_from=2026-01-01",
        "audit_detail": "/audit/1/",  # sequence 1: the tree's first event
        "audit_export": "/audit/export.xlsx?event=account.",
        "password": "/accounts/password/",
        "tree": "/orgs/",
        "search": "/orgs/search/?q=额敏",
        "list": "/orgs/list/?county=654221&kind=school&status=active&q=中学",
        "list_under_emin": f"/orgs/list/?under={t.emin.pk}",
        "detail_emin_school": f"/orgs/{t.emin_school.pk}/",
        "detail_toli_town": f"/orgs/{t.toli_town.pk}/",
        "children_emin": f"/orgs/{t.emin.pk}/children/",
        "create_under_emin": f"/orgs/new/?parent={t.emin.pk}",
        "create_under_toli": f"/orgs/new/?parent={t.toli.pk}",
        "edit_emin_school": f"/orgs/{t.emin_school.pk}/edit/",
        "move_emin_school": f"/orgs/{t.emin_school.pk}/move/",
        "dissolve_emin_school": f"/orgs/{t.emin_school.pk}/dissolve/",
        "import": "/orgs/import/",
        "import_template": "/orgs/import/template.xlsx",
        "export": "/orgs/export.xlsx",
        "export_subtree_emin": f"/orgs/export.xlsx?under={t.emin.pk}",
        "import_log_own": f"/orgs/import/{log.pk}/",
        "otp": "/accounts/2fa/",
        "otp_setup": "/accounts/2fa/setup/",
        "sessions": "/accounts/sessions/",
        "profile": "/accounts/profile/",
        "profile_phone": "/accounts/profile/phone/",
        "phone_reveal_get": f"/accounts/users/{job.created_by_id}/phone/reveal/",
        "admin_users": "/accounts/admin/users/",
        "admin_users_search": "/accounts/admin/users/?q=emin",
        "admin_user_new": "/accounts/admin/users/new/",
        "admin_user_detail": f"/accounts/admin/users/{job.created_by_id}/",
        "admin_user_disable": f"/accounts/admin/users/{job.created_by_id}/disable/",
        "admin_user_enable": f"/accounts/admin/users/{job.created_by_id}/enable/",
        "admin_roles": "/accounts/admin/roles/",
        "admin_role_grant": "/accounts/admin/roles/grant/",
        "admin_otp_reset": "/accounts/admin/second-factor/reset/",
        # any pk: re-authentication comes before the look-up (see test_admin_pages.py)
        "admin_role_revoke": "/accounts/admin/roles/1/revoke/",
        "admin_unlock_list": "/accounts/admin/unlock/",
        "admin_unlock": "/accounts/admin/unlock/lift/",
        "system_parameters": "/system/parameters/",
        "security_parameters": "/system/security-parameters/",
        "backups": "/system/backups/",
        "backup_create": "/system/backups/new/",
    }[name]


@pytest.mark.parametrize("persona_index", range(len(PERSONAS)), ids=PERSONAS)
def test_persona_matrix(
    persona_index, request, client, tree, county_admin, django_assert_max_num_queries
):
    persona = PERSONAS[persona_index]
    # given the persona logged in (the job belongs to the county admin)
    job = Job.objects.create(kind="test", title="测试任务", created_by=county_admin)
    log = _import_log(county_admin)
    if persona != "anonymous":
        user = county_admin if persona == "county_admin" else request.getfixturevalue(persona)
        client.force_login(user)
    failures = []
    for name, expected_row in MATRIX.items():
        expected = expected_row[persona_index]
        # when the persona opens the page (bounded number of queries: no N+1)
        with django_assert_max_num_queries(25):
            response = client.get(_url(name, tree, job, log))
        # then the answer is exactly the expected one
        if expected == L:
            ok = response.status_code == 302 and "/accounts/login/" in response["Location"]
        else:
            ok = response.status_code == expected
        if not ok:
            failures.append((name, expected, response.status_code))
    assert failures == []


def _import_log(owner) -> ImportLog:
    return ImportLog.objects.create(
        importer="orgs.organisation",
        created_by=owner,
        filename="orgs.xlsx",
        sha256="0" * 64,
        status="valid",
        row_count=1,
        rows=[],
    )


@pytest.mark.parametrize("action", ["commit", "undo"])
def test_someone_elses_import_cannot_be_committed_or_undone(
    tree, county_admin, outsider, prefecture_admin, login, action
):
    # given an import log of the 额敏 admin
    log = _import_log(county_admin)
    for intruder in (outsider, prefecture_admin):
        client = login(intruder)
        # when another user posts to its commit or undo URL
        response = client.post(f"/orgs/import/{log.pk}/{action}/")
        # then it does not exist for them, and the log is unchanged
        assert response.status_code == 404
        log.refresh_from_db()
        assert log.status == "valid"


@pytest.mark.parametrize("action", ["commit", "undo"])
def test_import_actions_refuse_get(tree, county_admin, login, action):
    log = _import_log(county_admin)
    client = login(county_admin)
    assert client.get(f"/orgs/import/{log.pk}/{action}/").status_code == 405


def test_denied_edit_changes_nothing(tree, outsider, login):
    # given the 托里 admin
    client = login(outsider)
    before = tree.emin_school.name
    # when they post an edit to an 额敏 school
    response = client.post(
        f"/orgs/{tree.emin_school.pk}/edit/",
        {"name": "改名", "kind": "school", "code": "SCH654221001", "region": tree.emin.region_id},
    )
    # then they get 404 and nothing changed
    assert response.status_code == 404
    tree.emin_school.refresh_from_db()
    assert tree.emin_school.name == before


def test_children_partial_lists_only_visible_children(tree, county_admin, login):
    client = login(county_admin)
    response = client.get(f"/orgs/{tree.emin.pk}/children/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "额敏镇科普协会" in html
    assert "额敏县第一中学" in html
    assert "托里" not in html


def test_search_finds_only_inside_scope(tree, county_admin, login):
    client = login(county_admin)
    html = client.get("/orgs/search/?q=镇科普协会").content.decode()
    assert "额敏镇科普协会" in html
    assert "托里镇科普协会" not in html


def test_tree_query_count_does_not_grow_with_children(
    tree, prefecture_admin, login, django_assert_max_num_queries
):
    from kexie.orgs.tests.factories import make_org

    client = login(prefecture_admin)
    for _ in range(30):
        make_org(tree.emin)
    with django_assert_max_num_queries(12):
        response = client.get(f"/orgs/{tree.emin.pk}/children/")
    assert response.status_code == 200


def test_pages_are_not_cached_and_carry_a_csp(tree, county_admin, login):
    client = login(county_admin)
    response = client.get("/orgs/")
    assert response["Cache-Control"] == "no-store"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_create_organisation_through_the_page(tree, county_admin, login):
    client = login(county_admin)
    response = client.post(
        f"/orgs/new/?parent={tree.emin.pk}",
        {
            "parent": tree.emin.pk,
            "name": "额敏县第三中学",
            "kind": "school",
            "code": "SCH654221003",
            "region": tree.emin.region_id,
        },
    )
    assert response.status_code == 302
    from kexie.orgs.models import Organisation

    org = Organisation.objects.get(code="SCH654221003")
    assert org.parent_id == tree.emin.pk


def test_create_with_bad_credit_code_shows_the_error_and_writes_nothing(tree, county_admin, login):
    client = login(county_admin)
    response = client.post(
        f"/orgs/new/?parent={tree.emin.pk}",
        {
            "parent": tree.emin.pk,
            "name": "额敏县第三中学",
            "kind": "school",
            "code": "SCH654221003",
            "region": tree.emin.region_id,
            "uscc": "91110000600037341A",
        },
    )
    assert response.status_code == 200
    from kexie.orgs.models import Organisation

    assert not Organisation.objects.filter(code="SCH654221003").exists()


def test_list_filters_inside_scope_only(tree, county_admin, login):
    client = login(county_admin)
    # when the 额敏 admin filters the list by the 托里 county
    html = client.get("/orgs/list/?county=654224").content.decode()
    # then nothing of 托里 appears (scope first, filters second)
    assert "托里" not in html.split('data-testid="org-table"')[1]
    html = client.get("/orgs/list/?county=654221&kind=school").content.decode()
    assert "额敏县第一中学" in html
    assert "额敏镇科普协会" not in html


def test_list_query_count_does_not_grow_with_rows(
    tree, prefecture_admin, login, django_assert_max_num_queries
):
    from kexie.orgs.tests.factories import OrganisationFactory

    client = login(prefecture_admin)
    for _ in range(40):
        OrganisationFactory(parent=tree.emin)
    with django_assert_max_num_queries(12):
        response = client.get("/orgs/list/")
    assert response.status_code == 200


def test_every_bad_field_of_the_form_is_reported_at_once(tree, county_admin, login):
    # given a form with a missing region, a bad credit code and a bad email
    response = login(county_admin).post(
        f"/orgs/new/?parent={tree.emin.pk}",
        {
            "parent": tree.emin.pk,
            "name": "测试学校",
            "kind": "school",
            "code": "SCH1",
            "uscc": "91110000600037341A",
            "email": "not-an-email",
        },
    )
    # then all three are reported together
    assert set(response.context["form"].errors) == {"region", "uscc", "email"}
