"""Public URLs of everything a verifier or a backpack fetches. One place, so the API routes and
the documents that point at them never disagree."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def public_base_url(url: str | None = None) -> str:
    """`--public-url`, else PARCOURS_PUBLIC_URL, else the local server's address."""
    return (url or os.environ.get("PARCOURS_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/")


def _suffix(version: int) -> str:
    """A badge class version's part of its URLs: none for version 1, `/v{n}` after."""
    return "" if version == 1 else f"/v{version}"


@dataclass(frozen=True)
class PublicUrls:
    base: str

    def issuer(self, slug: str) -> str:
        return f"{self.base}/ob/v2/issuers/{slug}"

    def issuer_logo(self, slug: str) -> str:
        return f"{self.base}/ob/v2/issuers/{slug}/logo.png"

    def revocations(self, slug: str) -> str:
        return f"{self.base}/ob/v2/issuers/{slug}/revocations"

    def badge_class(self, slug: str, version: int = 1) -> str:
        """Version 1 keeps the unversioned URL badges issued before versioning point at."""
        return f"{self.base}/ob/v2/badges/{slug}{_suffix(version)}"

    def badge_image(self, slug: str, version: int = 1) -> str:
        return f"{self.base}/ob/v2/badges/{slug}{_suffix(version)}/image.png"

    def assertion(self, assertion_id: str) -> str:
        return f"{self.base}/ob/v2/assertions/{assertion_id}"

    def baked(self, assertion_id: str) -> str:
        return f"{self.base}/ob/v2/assertions/{assertion_id}/badge.png"

    def endorsement(self, endorsement_id: str) -> str:
        return f"{self.base}/ob/v2/endorsements/{endorsement_id}"

    def page(self, assertion_id: str) -> str:
        """The human page companies reach by scanning the QR code."""
        return f"{self.base}/badges/{assertion_id}"

    def qr(self, assertion_id: str) -> str:
        return f"{self.base}/badges/{assertion_id}/qr.png"

    def profile_page(self, subject: str) -> str:
        """A badge holder's public profile: the subject of their badges (OB 3.0
        `credentialSubject.id`, the VC-JWT `sub`; hashed, their OB 2.0 `url` identity)."""
        return f"{self.base}/profils/{subject}"

    def profile3(self, slug: str) -> str:
        return f"{self.base}/ob/v3/issuers/{slug}"

    def key(self, slug: str, kid: str) -> str:
        return f"{self.base}/ob/v3/issuers/{slug}/keys/{kid}"

    def jwks(self, slug: str) -> str:
        return f"{self.base}/ob/v3/issuers/{slug}/jwks"

    def achievement(self, slug: str, version: int = 1) -> str:
        return f"{self.base}/ob/v3/achievements/{slug}{_suffix(version)}"

    def credential(self, assertion_id: str) -> str:
        return f"{self.base}/ob/v3/credentials/{assertion_id}"

    def status_list(self, slug: str, number: int) -> str:
        return f"{self.base}/ob/v3/issuers/{slug}/status/{number}"

    def clr(self, public_id: str) -> str:
        """A participant's whole parcours as a CLR 2.0 ClrCredential (`.jwt`: signed)."""
        return f"{self.base}/ob/v3/clr/{public_id}"

    def endorsement3(self, endorsement_id: str) -> str:
        return f"{self.base}/ob/v3/endorsements/{endorsement_id}"
