"""Participants for ``biobank demo``: consent forms, a mix of consents, one withdrawal, one
minor with a legal representative, one delinked participant. Names and IDs are invented."""

from __future__ import annotations

from datetime import date, timedelta

from biobank.core.demo import DemoContext
from biobank.participants import rules, services
from biobank.participants.identity_numbers import is_valid_national_id
from biobank.participants.models import ConsentForm, Participant
from biobank.participants.vault import Identity


def demo_national_id(letter: str, sex_digit: str, serial: int) -> str:
    """A checksum-valid invented number (letter, 1/2, seven digits, check digit)."""
    body = f"{letter}{sex_digit}{serial:07d}"
    return next(body + str(d) for d in range(10) if is_valid_national_id(body + str(d)))


# code, name, sex, birth date, national ID (letter, sex digit, serial)
PEOPLE = [
    ("P000001", "王小明", "M", "1968-04-12", ("A", "1", 2345671)),
    ("P000002", "陳美華", "F", "1972-09-30", ("B", "2", 3456782)),
    ("P000003", "林建宏", "M", "1959-01-05", ("F", "1", 4567893)),
    ("P000004", "黃淑貞", "F", "1981-11-21", ("A", "2", 5678904)),
    ("P000005", "張志明", "M", "1963-06-17", ("E", "1", 6789015)),
    ("P000006", "李佩珊", "F", "1977-02-08", ("H", "2", 7890126)),
    ("P000007", "吳宗翰", "M", "1985-12-25", ("R", "1", 8901237)),
    ("P000008", "劉語彤", "F", "2021-05-03", ("A", "2", 9012348)),
    ("P000009", "蔡承恩", "M", "2013-08-19", ("D", "1", 1234560)),
    ("P000010", "鄭雅雯", "F", "1955-03-14", ("N", "2", 2345679)),
]


def _forms(context: DemoContext) -> tuple[ConsentForm, ConsentForm]:
    demo = context.organizations["DEMO"]
    general = ConsentForm.objects.filter(organization=demo, code="GEN", version="3").first()
    if general is None:
        general = services.consent_form_create(
            actor=None,
            organization=demo,
            code="GEN",
            version="3",
            title="人體生物資料庫參與者同意書（一般研究用途）",
            committee_reference="DEMO-IRB-2024-031",
            approved_on=date(2024, 3, 1),
            permissions=[rules.GRU, rules.HMB, rules.DS],
            modifiers=[rules.NCU],
            offers_nhi_linkage=True,
            offers_after_death=True,
            offers_recontact=True,
            duration_years=20,
        )
    diabetes = ConsentForm.objects.filter(organization=demo, code="DM", version="1").first()
    if diabetes is None:
        diabetes = services.consent_form_create(
            actor=None,
            organization=demo,
            code="DM",
            version="1",
            title="第二型糖尿病世代研究同意書",
            committee_reference="DEMO-IRB-2023-117",
            approved_on=date(2023, 6, 15),
            permissions=[rules.DS],
            modifiers=[rules.IRB],
            offers_commercial_use=True,
            offers_nhi_linkage=True,
            duration_years=10,
        )
    return general, diabetes


def load(context: DemoContext) -> None:
    demo = context.organizations["DEMO"]
    if Participant.objects.filter(organization=demo).exists():
        return
    general, diabetes = _forms(context)
    chen = context.users["chen"]
    created: dict[str, Participant] = {}
    for code, name, sex, birth, (letter, digit, serial) in PEOPLE:
        created[code] = services.participant_register(
            actor=chen,
            organization=demo,
            code=code,
            sex=sex,
            identity=Identity(
                name=name,
                national_id=demo_national_id(letter, digit, serial),
                birth_date=birth,
                phone=f"09{serial:08d}"[:10],
            ),
        )
    signed = date(2024, 4, 2)
    for code in ("P000001", "P000002", "P000003", "P000004", "P000005", "P000006", "P000010"):
        services.consent_record(
            actor=chen,
            participant=created[code],
            form=general,
            signed_on=signed,
            capacity="adult",
            signed_by="participant",
            permissions=[rules.GRU],
            nhi_linkage=True,
            after_death=code != "P000004",
            recontact=True,
        )
        signed += timedelta(days=3)
    services.consent_record(
        actor=chen,
        participant=created["P000007"],
        form=diabetes,
        signed_on=date(2023, 9, 1),
        capacity="adult",
        signed_by="participant",
        permissions=[rules.DS],
        diseases=["ICD-10 E11"],
        commercial_use=True,
    )
    # a minor under 7: the legal representative signs (HB-02)
    services.consent_record(
        actor=chen,
        participant=created["P000008"],
        form=general,
        signed_on=date(2024, 10, 8),
        capacity="minor_under_7",
        signed_by="representative",
        representative_relation="母親",
        permissions=[rules.HMB],
    )
    # a minor aged 7 or over: both sign
    services.consent_record(
        actor=chen,
        participant=created["P000009"],
        form=general,
        signed_on=date(2024, 10, 8),
        capacity="minor_7_plus",
        signed_by="both",
        representative_relation="父親",
        permissions=[rules.HMB],
    )
    lin = context.users["lin"]
    services.consent_withdraw(
        actor=lin,
        participant=created["P000005"],
        on=date(2025, 2, 11),
        note="電話表示撤回同意",
    )
    services.participant_delink(
        actor=lin, participant=created["P000010"], reason="參與者要求去連結，保留已去連結之資料"
    )
