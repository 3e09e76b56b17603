"""Factories for accounts. Usernames are role labels, never names of people."""

from __future__ import annotations

import factory

from kexie.accounts.models import User
from kexie.accounts.services import role_grant


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n:04d}")
    display_name = factory.LazyAttribute(lambda u: u.username)
    password = factory.django.Password("Kexie-Test-2026!")


def staff(*, organisation, role: str, **kwargs) -> User:
    """A user holding ``role`` at ``organisation`` (through the service, so it is audited)."""
    user = UserFactory(**kwargs)
    role_grant(actor=None, user=user, organisation=organisation, role=role)
    return user
