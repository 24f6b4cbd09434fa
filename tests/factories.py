"""factory_boy factories for core records (other apps add their own next to their tests)."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from biobank.core.models import Membership, Obligation, Organization, Site, User

# Hash once: Argon2 is deliberately slow, and factories make many users.
TEST_PASSWORD = "correct-horse-battery-9"
_TEST_PASSWORD_HASH = make_password(TEST_PASSWORD)


class OrganizationFactory(factory.django.DjangoModelFactory[Organization]):
    class Meta:
        model = Organization
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"ORG{n:03d}")
    name_zh = factory.Sequence(lambda n: f"測試機構{n}")
    name_en = factory.Sequence(lambda n: f"Test organization {n}")
    kind = Organization.Kind.BIOBANK


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda o: o.username.title())
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = _TEST_PASSWORD_HASH


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = "technician"


class SiteFactory(factory.django.DjangoModelFactory[Site]):
    class Meta:
        model = Site

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"SITE-{n}")
    name = factory.Sequence(lambda n: f"Lab {n}")
    kind = Site.Kind.LAB
    containment = Site.Containment.BSL2


class ObligationFactory(factory.django.DjangoModelFactory[Obligation]):
    class Meta:
        model = Obligation

    organization = factory.SubFactory(OrganizationFactory)
    rule_id = "BS-12"
    title = factory.Sequence(lambda n: f"Obligation {n}")
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=3))
