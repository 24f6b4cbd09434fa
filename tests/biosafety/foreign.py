"""Biosafety records of organization OTHER for the tenancy test (tests/core/test_tenancy.py):
every biosafety URL with a record in its path is listed here with how to build its kwargs."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.utils import timezone

from biobank.biosafety import services


def records(cast: Any) -> dict[str, Any]:
    agent = services.agent_create(
        actor=cast.outsider,
        organization=cast.other,
        code="other-agent",
        name="他院病原",
        kind="virus",
        risk_group=2,
        source="他院",
    )
    material = services.material_register(
        actor=cast.outsider,
        organization=cast.other,
        code="OTHER-MAT",
        agent=agent,
        material_class=1,
        regime="human",
        form="stock",
        quantity=Decimal("1"),
        unit="vial",
        site=cast.other_site,
    )
    from datetime import date

    committee = services.committee_form(
        actor=cast.outsider,
        organization=cast.other,
        kind="committee",
        regime="human",
        name="他院生安會",
        formed_on=date(2026, 1, 5),
    )
    member = services.committee_member_add(
        actor=cast.outsider,
        committee=committee,
        name="他院委員",
        role="head",
        joined_on=date(2026, 1, 5),
    )
    meeting = services.meeting_record(
        actor=cast.outsider,
        committee=committee,
        held_on=date(2026, 1, 5),
        agenda="他院議程",
        attendees=[member],
        minutes="他院會議紀錄",
    )
    services.decision_record(
        actor=cast.outsider,
        meeting=meeting,
        decides="other",
        outcome="noted",
        subject="他院決議",
    )
    approval = services.approval_request(
        actor=cast.outsider, material=material, kind="use", purpose="他院"
    )
    inventory = services.inventory_start(actor=cast.outsider, site=cast.other_site, regime="human")
    anomaly = services.anomaly_open(
        actor=cast.outsider,
        material=material,
        kind="other",
        description="他院",
        noticed_at=timezone.now(),
        major=True,
    )
    incident = services.incident_report(
        actor=cast.outsider,
        organization=cast.other,
        title="他院意外",
        description="他院",
        occurred_at=timezone.now(),
        level=2,
        risk_assessment="他院",
        regime="human",
        site=cast.other_site,
        materials=[material],
    )
    worker = services.worker_register(
        actor=cast.outsider,
        organization=cast.other,
        user=cast.outsider,
        started_on=date(2026, 1, 5),
    )
    plan = services.plan_create(
        actor=cast.outsider,
        organization=cast.other,
        regime="human",
        title="他院應變計畫",
        version="1",
        parts={},
    )
    return {
        "biosafety_meeting": meeting,
        "biosafety_plan": plan,
        "biosafety_worker": worker,
        "biosafety_incident": incident,
        "biosafety_inventory": inventory,
        "biosafety_anomaly": anomaly,
        "biosafety_agent": agent,
        "biosafety_material": material,
        "biosafety_committee": committee,
        "biosafety_approval": approval,
    }


def _id(key: str, name: str = "public_id") -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda f: {name: f[key].public_id}


FOREIGN_RECORD: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "biosafety:agent-detail": _id("biosafety_agent"),
    "biosafety:material-detail": _id("biosafety_material"),
    "api:biosafety_agent_detail": _id("biosafety_agent", "agent_id"),
    "api:biosafety_material_detail": _id("biosafety_material", "material_id"),
    "biosafety:material-action": lambda f: {
        "public_id": f["biosafety_material"].public_id,
        "action": "approval",
    },
    "biosafety:approval-action": lambda f: {
        "public_id": f["biosafety_approval"].public_id,
        "action": "committee",
    },
    "biosafety:committee-detail": _id("biosafety_committee"),
    "biosafety:committee-action": lambda f: {
        "public_id": f["biosafety_committee"].public_id,
        "action": "report",
    },
    "api:biosafety_committee_detail": _id("biosafety_committee", "committee_id"),
    "api:biosafety_committee_member_add": _id("biosafety_committee", "committee_id"),
    "api:biosafety_committee_report": _id("biosafety_committee", "committee_id"),
    "api:biosafety_approval_request": _id("biosafety_material", "material_id"),
    "api:biosafety_approval_decide": _id("biosafety_approval", "approval_id"),
    "biosafety:inventory-detail": _id("biosafety_inventory"),
    "biosafety:inventory-pdf": _id("biosafety_inventory"),
    "biosafety:inventory-action": lambda f: {
        "public_id": f["biosafety_inventory"].public_id,
        "action": "complete",
    },
    "biosafety:anomaly-detail": _id("biosafety_anomaly"),
    "biosafety:anomaly-action": lambda f: {
        "public_id": f["biosafety_anomaly"].public_id,
        "action": "investigated",
    },
    "api:biosafety_inventory_detail": _id("biosafety_inventory", "inventory_id"),
    "api:biosafety_inventory_count": _id("biosafety_inventory", "inventory_id"),
    "api:biosafety_inventory_complete": _id("biosafety_inventory", "inventory_id"),
    "api:biosafety_anomaly_detail": _id("biosafety_anomaly", "anomaly_id"),
    "api:biosafety_anomaly_step": _id("biosafety_anomaly", "anomaly_id"),
    "biosafety:incident-detail": _id("biosafety_incident"),
    "biosafety:incident-action": lambda f: {
        "public_id": f["biosafety_incident"].public_id,
        "action": "step",
    },
    "api:biosafety_incident_detail": _id("biosafety_incident", "incident_id"),
    "api:biosafety_incident_step": _id("biosafety_incident", "incident_id"),
    "api:biosafety_incident_resume": _id("biosafety_incident", "incident_id"),
    "biosafety:worker-detail": _id("biosafety_worker"),
    "biosafety:worker-action": lambda f: {
        "public_id": f["biosafety_worker"].public_id,
        "action": "record",
    },
    "api:biosafety_worker_detail": _id("biosafety_worker", "worker_id"),
    "api:biosafety_training_record_add": _id("biosafety_worker", "worker_id"),
    "api:biosafety_assignment_create": _id("biosafety_worker", "worker_id"),
    "biosafety:plan-detail": _id("biosafety_plan"),
    "biosafety:plan-action": lambda f: {
        "public_id": f["biosafety_plan"].public_id,
        "action": "parts",
    },
    "api:biosafety_plan_detail": _id("biosafety_plan", "plan_id"),
    "api:biosafety_plan_step": _id("biosafety_plan", "plan_id"),
    "api:biosafety_destruction_record": _id("biosafety_material", "material_id"),
    "biosafety:meeting-document": _id("biosafety_meeting"),
    "biosafety:record-purge": lambda f: {
        "kind": "biosafety.incident",
        "record_id": str(f["biosafety_incident"].pk),
    },
    "api:biosafety_meeting_list": _id("biosafety_committee", "committee_id"),
    "api:biosafety_meeting_record": _id("biosafety_committee", "committee_id"),
    "api:biosafety_meeting_detail": _id("biosafety_meeting", "meeting_id"),
    "api:biosafety_meeting_minutes": _id("biosafety_meeting", "meeting_id"),
    "api:biosafety_decision_record": _id("biosafety_meeting", "meeting_id"),
    "biosafety:site-sign": _id("site"),
    "biosafety:site-sign-pdf": _id("site"),
}
POST_BODIES: dict[str, dict[str, Any]] = {
    "api:biosafety_meeting_list": {"held_on": "2026-01-05", "agenda": "x", "attendees": []},
    "api:biosafety_meeting_record": {"held_on": "2026-01-05", "agenda": "x", "attendees": []},
    "api:biosafety_meeting_minutes": {"minutes": "x"},
    "api:biosafety_decision_record": {"decides": "other", "outcome": "noted"},
    "api:biosafety_plan_step": {"step": "parts", "parts": {}},
    "api:biosafety_destruction_record": {
        "method": "autoclave",
        "destroyed_on": "2026-01-05",
        "reason": "x",
        "confirmed_on": "2026-01-05",
        "committee_reference": "x",
    },
    "api:biosafety_training_record_add": {"kind": "course", "title": "x", "on": "2026-01-05"},
    "api:biosafety_assignment_create": {"site": "OTHER-LAB"},
    "api:biosafety_incident_step": {"step": "action", "description": "x"},
    "api:biosafety_incident_resume": {"on": "2026-01-05"},
    "api:biosafety_inventory_count": {"line": 1, "found_quantity": "1"},
    "api:biosafety_anomaly_step": {"step": "investigated", "on": "2026-01-05", "findings": "x"},
    "api:biosafety_committee_member_add": {"name": "x", "role": "head", "joined_on": "2026-01-05"},
    "api:biosafety_committee_report": {"reported_on": "2026-01-05", "reference": "x"},
    "api:biosafety_approval_request": {"kind": "use", "purpose": "x"},
    "api:biosafety_approval_decide": {
        "step": "committee",
        "approved": True,
        "decided_on": "2026-01-05",
        "reference": "x",
    },
}
