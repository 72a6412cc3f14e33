"""The public revocation documents are kept and served with an ETag: a verifier that sends it
back gets a 304 until a badge of the issuer is revoked, and then the new document at once,
whatever time the revocation carries (a past one too) and however it was made (a revocation,
an erasure rewriting the reasons)."""

from __future__ import annotations

from datetime import timedelta

from engine.openbadges.status import is_set, locate
from engine.services import badges, privacy, public_documents
from engine.store.tables import Assertion
from tests.conftest import DIRECTRICE, NETWORK_ADMIN, T0, actor
from tests.engine.openbadges.conftest import BASE

LIST = "/ob/v2/issuers/sato/revocations"
STATUS = "/ob/v3/issuers/sato/status/0"


def _position(issued) -> int:
    with issued.rt.unit_of_work() as s:
        index = s.get(Assertion, issued.assertion).status_index
    return locate(index)[1]


def _revoked_bit(issued, body: bytes) -> bool:
    import jwt

    claims = jwt.decode(body.decode(), options={"verify_signature": False})
    subject = claims.get("vc", claims)["credentialSubject"]
    return is_set(subject["encodedList"], _position(issued))


def test_the_revocation_list_answers_304_until_a_revocation(issued) -> None:
    first = issued.client.get(LIST)
    assert first.status_code == 200 and first.json()["revokedAssertions"] == []
    etag = first.headers["etag"]
    assert "no-cache" in first.headers["cache-control"]
    again = issued.client.get(LIST, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    # a revocation dated in the past (before anything kept) still changes the document
    badges.revoke(
        issued.rt,
        issued.assertion,
        "Délivré par erreur",
        by=actor(issued.rt, DIRECTRICE),
        now=T0 + timedelta(minutes=1),
    )
    after = issued.client.get(LIST, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    url = f"{BASE}/ob/v2/assertions/{issued.assertion}"
    assert after.json()["revokedAssertions"] == [
        {"id": url, "revocationReason": "Délivré par erreur"}
    ]
    assert issued.client.get(LIST, headers={"If-None-Match": "*"}).status_code == 304


def test_an_erasure_rewrites_the_kept_reason_at_once(issued) -> None:
    badges.revoke(
        issued.rt, issued.assertion, "Awa Diallo a quitté", by=actor(issued.rt, DIRECTRICE)
    )
    kept = issued.client.get(LIST)
    assert "Awa Diallo" in kept.text
    privacy.erase(issued.rt, issued.holder.person_id, by=actor(issued.rt, NETWORK_ADMIN))
    now = issued.client.get(LIST, headers={"If-None-Match": kept.headers["etag"]})
    assert now.status_code == 200 and "Awa Diallo" not in now.text


def test_the_status_list_is_kept_until_a_revocation_and_its_bit_then_set(issued) -> None:
    # the badge's credential is fetched first: its issuer then has a signing key
    assert issued.client.get(f"/ob/v3/credentials/{issued.assertion}").status_code == 200
    first = issued.client.get(STATUS)
    assert first.status_code == 200 and not _revoked_bit(issued, first.content)
    etag = first.headers["etag"]
    assert issued.client.get(STATUS, headers={"If-None-Match": etag}).status_code == 304
    assert issued.client.get(STATUS).content == first.content  # not signed again
    badges.revoke(issued.rt, issued.assertion, "Erreur", by=actor(issued.rt, DIRECTRICE))
    after = issued.client.get(STATUS, headers={"If-None-Match": etag})
    assert after.status_code == 200 and _revoked_bit(issued, after.content)


def test_a_kept_document_is_rebuilt_once_its_age_has_passed(issued, monkeypatch) -> None:
    """What the time check cannot see from another process is caught up by age."""
    badges.revoke(issued.rt, issued.assertion, "Erreur", by=actor(issued.rt, DIRECTRICE))
    first = issued.client.get(LIST)
    with issued.rt.unit_of_work() as s:  # as another process would: no event in this one
        s.connection().exec_driver_sql("UPDATE assertion SET revocation_reason = 'ailleurs'")
    assert issued.client.get(LIST).content == first.content
    monkeypatch.setattr(public_documents, "MAX_AGE", 0.0)
    assert "ailleurs" in issued.client.get(LIST).text


def test_a_large_document_is_sent_gzipped_to_a_client_that_accepts_it(issued, monkeypatch) -> None:
    """A revocation list grows with the issuer's revocations (10.8 MB for 86,000): sent
    gzipped, with its own ETag, to a client that accepts it; as it is to one that does not."""
    badges.revoke(issued.rt, issued.assertion, "Erreur", by=actor(issued.rt, DIRECTRICE))
    monkeypatch.setattr(public_documents, "GZIP_FROM", 0)  # one revocation: a small list
    plain = issued.client.get(LIST, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    packed = issued.client.get(LIST, headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(plain.content)
    assert packed.content == plain.content  # the same document, once unpacked
    assert packed.headers["etag"] != plain.headers["etag"]
    assert packed.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
    refused = issued.client.get(LIST, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    # each representation has its tag: a 304 for the one the client would be sent
    again = issued.client.get(
        LIST, headers={"If-None-Match": plain.headers["etag"], "Accept-Encoding": "identity"}
    )
    assert again.status_code == 304 and again.headers["etag"] == plain.headers["etag"]
    again = issued.client.get(
        LIST, headers={"If-None-Match": packed.headers["etag"], "Accept-Encoding": "gzip"}
    )
    assert again.status_code == 304 and again.headers["etag"] == packed.headers["etag"]
    other = issued.client.get(
        LIST, headers={"If-None-Match": plain.headers["etag"], "Accept-Encoding": "gzip"}
    )
    assert other.status_code == 200 and other.headers["content-encoding"] == "gzip"


def test_accept_encoding_is_read_as_http_says() -> None:
    for header, gzipped in [
        ("gzip, deflate", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("*", True),
        ("identity", False),
        ("", False),
        (None, False),
        ("gzip;q=0", False),
        ("gzip ; q=0, *", False),
        ("*, gzip;q=0", False),  # a coding named overrides `*`
        ("*;q=0.5, gzip;q=0", False),
        ("gzip;level=1;q=0", False),
        ("*;q=0", False),
        ("x-gzip", True),
    ]:
        assert public_documents.accepts_gzip(header) is gzipped, header


def test_one_thread_builds_a_document_while_the_others_wait_for_it(issued) -> None:
    """At 100 requests/s, each request arriving during a 3 s build used to start one."""
    import threading
    import time

    calls = []

    def build() -> tuple[bytes, str]:
        calls.append(1)
        time.sleep(0.2)
        return b"{}", "application/ld+json"

    got = []
    threads = [
        threading.Thread(
            target=lambda: got.append(public_documents._document(issued.rt, ("essai",), build))
        )
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 6 and len({id(d) for d in got}) == 1


def test_a_failed_build_fails_the_requests_waiting_for_it_without_building_again(issued) -> None:
    import threading
    import time

    calls, failed = [], []

    def build() -> tuple[bytes, str]:
        calls.append(1)
        time.sleep(0.2)
        raise RuntimeError("base indisponible")

    def ask() -> None:
        try:
            public_documents._document(issued.rt, ("en panne",), build)
        except RuntimeError as exc:
            failed.append(str(exc))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and failed == ["base indisponible"] * 6


def test_a_document_only_too_old_is_served_while_it_is_built_again(issued) -> None:
    """Rebuilt every `MAX_AGE` (60 s) in each process: the requests meanwhile do not wait."""
    import threading
    import time

    old = public_documents._document(issued.rt, ("vieux",), lambda: (b"1", "text/plain"), 0.0)
    late = public_documents.MAX_AGE + 1

    def slow() -> tuple[bytes, str]:
        time.sleep(0.3)
        return b"2", "text/plain"

    def never() -> tuple[bytes, str]:
        raise AssertionError("built twice")

    rebuilding = threading.Thread(
        target=public_documents._document, args=(issued.rt, ("vieux",), slow, late)
    )
    rebuilding.start()
    time.sleep(0.1)
    assert public_documents._document(issued.rt, ("vieux",), never, late) is old
    rebuilding.join()
    assert public_documents._document(issued.rt, ("vieux",), never, late).body == b"2"
