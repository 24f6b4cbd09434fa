"""The ``biobank`` console script and the project's management commands."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from biobank.cli import main
from biobank.core import services
from biobank.core.models import ApiToken, AuditEvent, Membership, Organization, Site, User
from biobank.core.roles import Role


def test_help_lists_the_projects_commands_with_one_line_each(capsys):
    main(["biobank", "--help"])
    out = capsys.readouterr().out
    for command in ("demo", "audit", "obligations", "token"):
        line = next(line for line in out.splitlines() if line.strip().startswith(command + " "))
        assert len(line.split(None, 1)[1]) > 10


def test_console_script_runs_django_commands():
    result = subprocess.run(
        [sys.executable, "-m", "biobank.cli", "check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_demo_is_idempotent_and_has_one_user_per_role(capsys):
    call_command("demo")
    first = (User.objects.count(), Site.objects.count(), AuditEvent.objects.count())
    call_command("demo")
    out = capsys.readouterr().out
    assert (User.objects.count(), Site.objects.count()) == first[:2]
    demo = Organization.objects.get(code="DEMO")
    roles = set(Membership.objects.filter(organization=demo).values_list("role", flat=True))
    assert roles >= set(Role) - {Role.PLATFORM_ADMIN}
    assert Membership.objects.filter(role=Role.PLATFORM_ADMIN).exists()
    assert "lin-Biobank-2026" in out
    assert User.objects.get(username="lin").check_password("lin-Biobank-2026")
    call_command("audit", "verify")


@pytest.mark.django_db
def test_obligations_command_prints_overdue_and_due_soon(cast, capsys):
    services.obligation_open(
        organization=cast.demo,
        rule_id="BS-11",
        title="Inventory late",
        due_at=timezone.now() - timedelta(days=1),
    )
    services.obligation_open(
        organization=cast.demo,
        rule_id="BS-12",
        title="Drill next month",
        due_at=timezone.now() + timedelta(days=30),
    )
    call_command("obligations")
    out = capsys.readouterr().out
    assert "OVERDUE" in out and "Inventory late" in out
    assert "Drill next month" not in out


@pytest.mark.django_db
def test_obligations_notify_sends_mail(cast, capsys):
    services.obligation_open(
        organization=cast.demo,
        rule_id="BS-11",
        title="Inventory",
        due_at=timezone.now() + timedelta(days=1),
        responsible_role=Role.BIOSAFETY_OFFICER,
    )
    call_command("obligations", "notify")
    assert "1 message(s) sent" in capsys.readouterr().out
    assert mail.outbox[0].to == [cast.biosafety.email]


@pytest.mark.django_db
def test_token_create_prints_a_working_token(cast, capsys):
    call_command("token", "create", "chen", "--name", "scanner")
    plain = capsys.readouterr().out.strip()
    assert services.token_authenticate(plain) == cast.technician
    token = ApiToken.objects.get(user=cast.technician)
    call_command("token", "revoke", token.prefix)
    assert services.token_authenticate(plain) is None


@pytest.mark.django_db
def test_token_for_unknown_user_fails_clearly(capsys):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no user"):
        call_command("token", "create", "nobody")
