"""Bootstrap a staff account: ``python manage.py create_staff USERNAME --org CODE --role ROLE``."""

from __future__ import annotations

import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kexie.accounts.models import User
from kexie.accounts.roles import Role
from kexie.accounts.services import activation_path, role_grant, user_create
from kexie.orgs.models import Organisation


class Command(BaseCommand):
    help = (
        "Create a staff account with a role at an organisation. The password is read from "
        "standard input with --password-stdin; otherwise an activation link is printed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--org", required=True, help="organisation code, e.g. KX654221")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--name", default="", help="display name")
        parser.add_argument("--email", default="")
        parser.add_argument("--password-stdin", action="store_true")
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="prefix for the activation link"
        )

    def handle(self, *args, **opts) -> None:
        org = Organisation.objects.filter(code=opts["org"].strip().upper()).first()
        if org is None:
            raise CommandError(f"No organisation with code {opts['org']!r}.")
        password = None
        if opts["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
            if not password:
                raise CommandError("No password on standard input.")
        try:
            user = User.objects.filter(username__iexact=opts["username"]).first()
            if user is None:
                user = user_create(
                    actor=None,
                    username=opts["username"],
                    display_name=opts["name"],
                    email=opts["email"],
                    password=password,
                )
                self.stdout.write(f"Created account {user.username}.")
            role_grant(actor=None, user=user, organisation=org, role=opts["role"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"{user.username}: {opts['role']} at {org.code} {org.name}.")
        if not user.has_usable_password():
            link = opts["base_url"].rstrip("/") + activation_path(user)
            self.stdout.write(f"Activation link (valid for 3 days): {link}")
