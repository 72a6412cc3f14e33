"""What SATO's administrator types to let the PMSMP platform in, and reads back (issue 20)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from engine.inbound import signature
from engine.services import inbound
from engine.services.runtime import Runtime
from engine.store.database import make_engine
from engine.store.tables import utcnow
from tests.engine.test_cli import run
from tests.engine.test_inbound import convention


def test_an_admin_makes_the_secret_and_lists_what_arrived(capsys, tmp_path) -> None:
    db = str(tmp_path / "parcours.sqlite")
    assert run(capsys, "--db", db, "init")[0] == 0
    assert run(capsys, "--db", db, "network", "publish")[0] == 0
    code, out, err = run(capsys, "--db", db, "network", "show", "sato")
    assert "Événements entrants : pmsmp (Immersion Facilitée (PMSMP)) → convention-pmsmp" in out

    code, out, err = run(capsys, "--db", db, "network", "inbound-secret", "sato", "pmsmp")
    assert code == 0, err
    secret = out.splitlines()[1].strip()
    assert len(secret) >= 40 and "X-Parcours-Signature: reseau=sato,t=" in out

    rt = Runtime(make_engine(f"sqlite:///{db}"))
    body = json.dumps(convention()).encode()
    header = signature.header(secret, "sato", body, utcnow())
    assert inbound.receive(rt, "pmsmp", body, header).status == "unmatched"

    code, out, err = run(
        capsys, "--db", db, "network", "inbound-events", "sato", "--statut", "unmatched"
    )
    assert code == 0, err
    assert "Source pmsmp (Immersion Facilitée (PMSMP)) : secret du " in out
    assert "1 à rattacher" in out
    assert "convention  aucun parcours trouvé  (sans parcours)" in out

    # a new secret replaces the old one at once
    assert run(capsys, "--db", db, "network", "inbound-secret", "sato", "pmsmp")[0] == 0
    stale = signature.header(secret, "sato", body, utcnow() + timedelta(seconds=1))
    code, out, err = run(capsys, "--db", db, "network", "inbound-secret", "sato", "france-travail")
    assert code == 1 and "ne la déclare pas" in err
    with pytest.raises(inbound.SignatureRefused):
        inbound.receive(rt, "pmsmp", body, stale)
