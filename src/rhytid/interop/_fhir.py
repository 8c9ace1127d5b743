"""A patient's record as a FHIR R5 ``collection`` Bundle (validated with fhir.resources, whose
default models since version 7 are FHIR R5).

Patient, AllergyIntolerance and Condition (from the history in force), QuestionnaireResponse
(each version of the answers, typed: valueBoolean, valueDate, valueDecimal, valueCoding,
valueString), Observation (wrinkle grades per area, rest and maximum contraction), Medication
(product with lot and expiry), MedicationAdministration and Procedure (each treatment, with its
clinician as a Practitioner performer), Medication and Procedure of each hyaluronic-acid filler
treatment (lot, syringe volume, sites with depth, technique), Appointment, AdverseEvent, Consent
(each signed consent: template version, the text as signed and its SHA-256 content hash).

Ids are valid by construction: every resource's id is a UUID (FHIR ids allow only
``[A-Za-z0-9.-]``, so codes such as ``lateral_canthal_l`` never enter one) derived from the
record's own ids, so the same record exports the same ids; every ``fullUrl`` is ``urn:uuid:<id>``.
The local ids stay readable in each resource's ``identifier``.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

from fhir.resources.bundle import Bundle

__all__ = ["patient_bundle"]

_SYSTEM = "https://rhytid.example/codes"


def _code(code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": _SYSTEM, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": display or code.replace("_", " ")}


def _dt(value: dt.datetime) -> str:
    return value.replace(tzinfo=dt.UTC).isoformat()


def _consent(c: Any, subject: dict[str, Any]) -> dict[str, Any]:
    """A signed consent as a FHIR R5 Consent (permit; the signed text attached; hash as identifier).

    A consent the patient withdrew is ``inactive``, its ``period`` ending at the withdrawal.
    """
    withdrawal = getattr(c, "withdrawal", None)
    period = {"start": _dt(c.signed_at)}
    if withdrawal is not None:
        period["end"] = _dt(withdrawal.withdrawn_at)
    return {
        "status": "inactive" if withdrawal is not None else "active",
        "category": [_code(c.kind, c.title)],
        "subject": subject,
        "date": c.signed_at.date().isoformat(),
        "period": period,
        "decision": "permit",
        "identifier": [{"system": f"{_SYSTEM}/consent-sha256", "value": c.content_hash}],
        "sourceAttachment": [
            {
                "contentType": "text/plain; charset=utf-8",
                "title": f"{c.title}, version {c.template_version}, signed by {c.signed_name}",
                "data": base64.b64encode(c.text.encode("utf-8")).decode("ascii"),
                "creation": _dt(c.signed_at),
            }
        ],
    }


#: The record's appointment statuses as FHIR R5 ``Appointment.status`` codes.
_APPOINTMENT_STATUS = {
    "booked": "booked",
    "arrived": "arrived",
    "done": "fulfilled",
    "no_show": "noshow",
    "cancelled": "cancelled",
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _value(value: Any) -> dict[str, Any]:
    """One typed answer value (R5 ``QuestionnaireResponse.item.answer.value[x]``)."""
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int | float):
        return {"valueDecimal": value}
    if isinstance(value, str) and _DATE.match(value):
        return {"valueDate": value}
    return {"valueString": str(value)}


def _coded(code: str) -> dict[str, Any]:
    return {"valueCoding": {"system": _SYSTEM, "code": str(code), "display": str(code).replace("_", " ")}}


#: Answers whose values are codes of the questionnaire (lists of them, or in entries).
_CODED = {"conditions", "medications", "product", "area", "side_effects", "substance", "reaction"}


def _answers(key: str, value: Any) -> list[dict[str, Any]]:
    """The answers of one question: a list question as yes/no with its entries nested."""
    if isinstance(value, list):
        if not value:
            return [{"valueBoolean": False}]
        nested: list[dict[str, Any]] = []
        for i, entry in enumerate(value):
            if isinstance(entry, dict):
                parts = [
                    {"linkId": f"{key}.{i}.{k}", "text": k, "answer": _answers(k, v)}
                    for k, v in entry.items()
                    if v is not None and v != []
                ]
                nested.append({"linkId": f"{key}.{i}", "item": parts})
            else:
                nested.append({"linkId": f"{key}.{i}", "answer": [_coded(entry)]})
        return [{"valueBoolean": True, "item": nested}]
    if key in _CODED and isinstance(value, str):
        return [_coded(value)]
    return [_value(value)]


def patient_bundle(record: Mapping[str, Any]) -> str:
    """The FHIR JSON of ``repo.patient_record(...)``."""
    p = record["patient"]
    # one namespace per patient record, from its id and creation time: UUIDs stable across exports
    space = uuid.uuid5(
        uuid.NAMESPACE_URL, f"https://rhytid.example/patient/{p.id}/{p.created_at.isoformat()}"
    )

    def rid(kind: str, ident: object) -> str:
        return str(uuid.uuid5(space, f"{kind}/{ident}"))

    pref = f"urn:uuid:{rid('Patient', p.id)}"
    subject = {"reference": pref}
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": pref,
            "resource": {
                "resourceType": "Patient",
                "id": rid("Patient", p.id),
                "identifier": [{"system": "https://rhytid.example/id/patient", "value": str(p.id)}],
                "name": [{"family": p.family_name, "given": [p.given_name]}],
                "gender": p.sex,
                "birthDate": p.birth_date.isoformat(),
                "telecom": [{"system": "phone", "value": p.phone}] if p.phone else None,
            },
        }
    ]

    def add(kind: str, ident: object, resource: dict[str, Any]) -> str:
        """Add a resource; its reference (``urn:uuid:…``)."""
        ident_ = rid(kind, ident)
        clean = {k: v for k, v in resource.items() if v is not None}
        local = {"system": f"https://rhytid.example/id/{kind.lower()}", "value": str(ident)}
        body = {"resourceType": kind, "id": ident_, "identifier": [local], **clean}
        entries.append({"fullUrl": f"urn:uuid:{ident_}", "resource": body})
        return f"urn:uuid:{ident_}"

    performers: dict[int, str] = {}
    for uid, user in (record.get("practitioners") or {}).items():
        performers[uid] = add("Practitioner", uid, {"name": [{"text": user.name}], "active": user.active})

    histories = record["histories"]
    for h in histories:
        add(
            "QuestionnaireResponse",
            str(h.id),
            {
                "status": "completed",
                "subject": subject,
                "authored": _dt(h.created_at),
                "questionnaire": "https://rhytid.example/Questionnaire/medical-history-v1",
                "item": [
                    {"linkId": key, "text": key.replace("_", " "), "answer": _answers(key, value)}
                    for key, value in h.answers.items()
                    if value is not None and key != "schema_version"
                ],
            },
        )
    in_force = [h for h in histories if getattr(h, "status", "accepted") == "accepted"]
    if in_force:
        latest = in_force[0]
        for i, allergy in enumerate(latest.answers.get("allergies") or []):
            add(
                "AllergyIntolerance",
                f"{latest.id}-{i}",
                {"patient": subject, "code": _code(allergy["substance"])},
            )
        for condition in latest.answers.get("conditions") or []:
            add(
                "Condition",
                f"{latest.id}-{condition}",
                {
                    "subject": subject,
                    "clinicalStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                "code": "active",
                            }
                        ]
                    },
                    "code": _code(condition),
                },
            )
    for a in record["assessments"]:
        for area, pair in a.grades.items():
            for state in ("rest", "max"):
                add(
                    "Observation",
                    f"{a.id}-{area}-{state}",
                    {
                        "status": "final",
                        "code": _code(f"fws_{area}_{state}", f"Facial Wrinkle Scale, {area}, {state}"),
                        "subject": subject,
                        "effectiveDateTime": a.assessed_on.isoformat(),
                        "valueInteger": int(pair[state]),
                    },
                )
    for t in record["treatments"]:
        med = add(
            "Medication",
            t.id,
            {"code": _code(t.product), "batch": {"lotNumber": t.lot, "expirationDate": t.expiry.isoformat()}},
        )
        by = performers.get(t.clinician_id)
        add(
            "MedicationAdministration",
            t.id,
            {
                "status": "completed",
                "medication": {"reference": {"reference": med}},
                "subject": subject,
                "occurenceDateTime": _dt(t.performed_at),
                "performer": [{"actor": {"reference": {"reference": by}}}] if by else None,
                "dosage": {
                    "text": "; ".join(
                        f"{i.units:g} U {i.site or f'({i.x_mm:g}, {i.y_mm:g}) mm'} {i.depth}"
                        for i in t.injections
                    ),
                    "dose": {"value": t.total_units, "unit": "U"},
                },
            },
        )
        add(
            "Procedure",
            t.id,
            {
                "status": "completed",
                "code": _code("botulinum_toxin_injection", "Botulinum toxin injection"),
                "subject": subject,
                "occurrenceDateTime": _dt(t.performed_at),
                "performer": [{"actor": {"reference": by}}] if by else None,
                "bodySite": [_code(area) for area in t.areas],
            },
        )
    for f in record.get("filler_treatments", ()):
        filler = add(
            "Medication",
            f"filler-{f.id}",
            {
                "code": _code("hyaluronic_acid_filler", f"Hyaluronic-acid filler: {f.product}"),
                "batch": {"lotNumber": f.lot, "expirationDate": f.expiry.isoformat()},
                "totalVolume": {"value": f.syringe_ml, "unit": "mL"},
            },
        )
        add(
            "Procedure",
            f"filler-{f.id}",
            {
                "status": "completed",
                "code": _code("hyaluronic_acid_filler_injection", "Hyaluronic-acid filler injection"),
                "subject": subject,
                "occurrenceDateTime": _dt(f.performed_at),
                "bodySite": [_code(site.area) for site in f.sites],
                "used": [{"reference": {"reference": filler}}],
                "note": [
                    {
                        "text": f"{f.volume_ml:g} mL by {f.technique}; "
                        + "; ".join(f"{s.volume_ml:g} mL {s.area} ({s.plane})" for s in f.sites)
                        + ("; hyaluronidase on hand" if f.hyaluronidase_on_hand else "")
                    }
                ],
            },
        )
    for ap in record["appointments"]:
        add(
            "Appointment",
            ap.id,
            {
                "status": _APPOINTMENT_STATUS[ap.status],
                "serviceType": [{"concept": _code(ap.kind)}],
                "subject": subject,
                "start": _dt(ap.starts_at),
                "end": _dt(ap.starts_at + dt.timedelta(minutes=ap.minutes)),
                "participant": [{"actor": subject, "status": "accepted"}],
            },
        )
    for ae in record["adverse_events"]:
        add(
            "AdverseEvent",
            ae.id,
            {
                "status": "completed",
                "actuality": "actual",
                "subject": subject,
                "code": _code(ae.kind),
                "occurrenceDateTime": ae.onset_date.isoformat(),
                "seriousness": _code(ae.severity),
                "note": [{"text": ae.description}],
            },
        )
    for c in record.get("consents", []):
        add("Consent", str(c.id), _consent(c, subject))
    entries[0]["resource"] = {k: v for k, v in entries[0]["resource"].items() if v is not None}
    bundle = Bundle.model_validate({"resourceType": "Bundle", "type": "collection", "entry": entries})
    out: str = bundle.model_dump_json(exclude_none=True)
    return out
