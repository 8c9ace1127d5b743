"""A patient's signed link (``store.links``): dead from its expiry, and a link the clinic revoked
cannot be spent even by a form opened before the revocation."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from rhytid.store import GoneError, links, transaction
from rhytid.store import models as m
from rhytid.store._models import utcnow

from .conftest import World, new_patient

FORM = "aftercare"


def _link(factory: sessionmaker[Session], world: World) -> tuple[int, str]:
    pid = new_patient(factory, world.clinician)
    with transaction(factory) as db:
        row = links.create_link(
            db=db, patient_id=pid, form=FORM, treatment_id=None, days=7, actor=world.clinician
        )
        links.set_token(row, "a-token-of-the-test")
        return row.id, "a-token-of-the-test"


def test_a_link_is_gone_from_its_expiry(factory: sessionmaker[Session], world: World) -> None:
    link_id, token = _link(factory, world)
    with transaction(factory) as db:
        assert links.open_link(db=db, link_id=link_id, token=token, form=FORM).id == link_id
        row = db.get(m.PatientLink, link_id)
        assert row is not None
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
    with pytest.raises(GoneError, match="expired"), transaction(factory) as db:
        links.open_link(db=db, link_id=link_id, token=token, form=FORM)


def test_a_revoked_link_cannot_be_spent_by_a_form_opened_before(
    factory: sessionmaker[Session], world: World
) -> None:
    link_id, token = _link(factory, world)
    with transaction(factory) as db:
        links.open_link(db=db, link_id=link_id, token=token, form=FORM)  # the patient opens the form
    with transaction(factory) as db:
        links.revoke_link(db=db, link_id=link_id, actor=world.clinician)  # the clinic withdraws it
    with pytest.raises(GoneError), transaction(factory) as db:
        links.spend_link(db=db, link_id=link_id)  # the submission arrives
    with factory() as db:
        row = db.get(m.PatientLink, link_id)
        assert row is not None and row.used_at is None
