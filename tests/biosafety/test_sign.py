"""The entrance sign (BS-08): a printable A4 PDF per site with the containment level, the
biohazard symbol, supervisor, manager, phones, emergency contact and measures."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.urls import reverse
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4

from biobank.biosafety import door_sign
from biobank.core import services as core_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(cast):
    return core_services.site_update(
        actor=cast.manager,
        site=cast.demo_site,
        person_in_charge=cast.biosafety,
        manager_name="林美華",
        phone="02-2312-3456 #5520",
        emergency_contact="張家豪 0912-345-678",
        emergency_measures="溢出：以 1% 漂白水覆蓋 30 分鐘",
    )


def test_bs08_a_site_without_its_contacts_has_no_sign(cast, client):
    check = door_sign.sign_check(cast.demo_site)
    assert (check.allowed, check.rule) == (False, "BS-08")
    assert "emergency_contact" in check.missing
    client.force_login(cast.technician)
    response = client.get(
        reverse("biosafety:site-sign-pdf", args=[cast.demo_site.public_id]), follow=True
    )
    assert response["Content-Type"].startswith("text/html")
    assert "BS-08" in response.content.decode()


def test_bs08_the_sign_is_an_a4_pdf_with_every_field(cast, signed, client):
    assert door_sign.sign_check(signed).allowed
    client.force_login(cast.technician)
    page = client.get(reverse("biosafety:site-sign", args=[signed.public_id])).content.decode()
    assert "林美華" in page and "sign.pdf" in page
    response = client.get(reverse("biosafety:site-sign-pdf", args=[signed.public_id]))
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(BytesIO(response.content))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == tuple(round(v) for v in A4)
    text = reader.pages[0].extract_text()
    for expected in ("BSL-3", "林美華", "0912-345-678", "5520", "漂白水", "BIOHAZARD"):
        assert expected in text, expected


def test_bs08_a_site_without_containment_lacks_the_level(cast):
    room = core_services.site_create(
        actor=None, organization=cast.demo, code="STORE", name="倉庫", kind="storage"
    )
    assert "biosafety_level" in door_sign.sign_check(room).missing
