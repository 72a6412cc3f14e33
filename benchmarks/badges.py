"""Badges issued and baked per second, against openbadges-bakery baking the same assertion into
the same picture.

    python benchmarks/badges.py [--badges 2000]

Issuing: staff award one badge per enrollment (a committed transaction each, SQLite WAL).
Baking: the OB 2.0 assertion JSON into the badge's 600x600 PNG, in memory, by Parcours
(engine.openbadges.baking.bake_png) and by openbadges-bakery (pypng), same input, same output
format. Also: OB 3.0 credentials signed (RS256 VC-JWT) per second; and per badge, the whole
pipeline (issued, baked and signed in one committed transaction: enrollments.award_portable)
against openbadges-bakery's bake plus openbadgeslib's sign alone, measured in turns.
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/transitions.py would shadow the `transitions` package: drop this folder from the path.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import io
import json
import tempfile
import time
from datetime import UTC, datetime

from openbadges_bakery import bake as reference_bake
from openbadgeslib.ob3.credential import OpenBadgeCredential
from openbadgeslib.ob3.signer import OB3Signer
from sqlalchemy import select

from engine.openbadges.baking import bake_png, check_picture
from engine.services import access, badge_documents, badges
from engine.services import enrollments as e
from engine.services.bootstrap import initialise
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.runtime import Runtime
from engine.store.database import make_engine, upgrade
from engine.store.tables import IssuerKey, Organisation

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:10.0f}/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--badges", type=int, default=2000)
    n = parser.parse_args().badges
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(str(Path(tmp) / "bench.sqlite"))
        upgrade(engine)
        rt = Runtime(engine)
        initialise(rt)
        with rt.unit_of_work() as s:
            upsert_organisation(
                s, "siae", "SIAE", "structure", structure_kind="ETTI", networks=["sato"]
            )
            add_staff(
                s,
                "cip@siae.fr",
                "Claire",
                "Martin",
                [("siae", "cip"), ("siae", "encadrant_technique")],
            )
        with rt.reading() as c:
            staff = access.actor_for(c, "cip@siae.fr")
        enrollments = [
            e.enroll(
                rt,
                "sato-femmes-metallurgie",
                "siae",
                e.Participant("P", str(i), f"p{i}@example.org"),
                by=staff,
                now=T0,
            )
            for i in range(n)
        ]
        start = time.perf_counter()
        ids = [e.award(rt, eid, "sato.jeu-de-piste", by=staff, now=T0) for eid in enrollments]
        issue_s = time.perf_counter() - start
        u = badges.urls()

        start = time.perf_counter()
        for aid in ids:
            badge_documents.baked(rt, aid, u)
        served_s = time.perf_counter() - start

        picture = badge_documents.badge_picture(rt, "sato.jeu-de-piste")
        check_picture(picture)
        texts = [
            json.dumps(badge_documents.assertion_document(rt, aid, u)[1], ensure_ascii=False)
            for aid in ids
        ]
        start = time.perf_counter()
        for text in texts:
            bake_png(picture, text, checked=True)
        ours = time.perf_counter() - start
        start = time.perf_counter()
        for text in texts:
            reference_bake(io.BytesIO(picture), text).read()
        theirs = time.perf_counter() - start

        start = time.perf_counter()
        for aid in ids[:500]:
            badge_documents.credential_jwt(rt, aid, u)
        signed_s = time.perf_counter() - start

        # The pipeline a badge goes through, per badge: issued, baked and signed in one
        # committed transaction (enrollments.award_portable); against the same work done by
        # third-party primitives alone on documents already built (badges of the same class):
        # openbadges-bakery's bake and openbadgeslib's OB 3.0 signer. Measured in turns, badge
        # by badge, so a machine busy with something else slows both sides alike.
        m = min(n, 500)
        more = [
            e.enroll(
                rt,
                "sato-femmes-metallurgie",
                "siae",
                e.Participant("Q", str(i), f"q{i}@example.org"),
                by=staff,
                now=T0,
            )
            for i in range(m)
        ]
        docs = [badge_documents.credential_document(rt, aid, u) for aid in ids[:m]]
        with rt.unit_of_work() as s:
            sato = s.execute(select(Organisation).where(Organisation.slug == "sato")).scalar_one()
            row = (
                s.execute(select(IssuerKey).where(IssuerKey.organisation_id == sato.id))
                .scalars()
                .first()
            )
            pem = row.private_pem
        signer = OB3Signer(pem)
        pipeline = bare_sign = bare_bake = 0.0
        kept = []
        for eid, doc, text in zip(more, docs, texts, strict=False):
            start = time.perf_counter()
            kept.append(e.award_portable(rt, eid, "sato.jeu-de-piste", u, by=staff, now=T0))
            signed = time.perf_counter()
            signer.sign(OpenBadgeCredential.from_vc_document(doc))
            baked = time.perf_counter()
            reference_bake(io.BytesIO(picture), text).read()
            done = time.perf_counter()
            pipeline += signed - start
            bare_sign += baked - signed
            bare_bake += done - baked
        assert len(kept) == m and all(k.png and k.jwt for _, k in kept)

    print(f"{n} badges, SQLite WAL, picture {len(picture) // 1024} KiB 600x600 PNG")
    print(f"badges issued (award, committed)                      {rate(n, issue_s)}")
    print(f"badges baked from the database (load + OB 2.0 + bake)  {rate(n, served_s)}")
    print(f"bake only, Parcours (Pillow chunk writer)             {rate(n, ours)}")
    print(f"bake only, openbadges-bakery 2.0 (pypng)              {rate(n, theirs)}")
    print(f"  ratio: Parcours is {theirs / ours:.1f}x faster than openbadges-bakery")
    print(f"OB 3.0 credentials signed (RS256 VC-JWT, status index) {rate(min(n, 500), signed_s)}")
    per = 1000 / m
    pipeline *= per
    bare = (bare_bake + bare_sign) * per
    print(f"per badge ({m} badges):")
    print(f"  pipeline: issue + bake + sign, one transaction (award_portable) {pipeline:.2f} ms")
    print(
        f"  primitives alone: openbadges-bakery bake {bare_bake * per:.2f} ms + openbadgeslib "
        f"sign {bare_sign * per:.2f} ms = {bare:.2f} ms"
    )
    print(f"  pipeline / primitives: {pipeline / bare:.1f}x")


if __name__ == "__main__":
    main()
