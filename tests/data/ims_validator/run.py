"""Run IMS Global's `openbadges` validator (PyPI openbadges 1.1.2) on one badge, offline.

Runs inside the validator's own virtualenv (its pins clash with ours), so it imports nothing of
Parcours. The JSON-LD context https://w3id.org/openbadges/v2 is answered from the file beside
this script; any other host but loopback is refused, so the check never leaves the machine.

Usage: python run.py URL-or-PNG [EMAIL]  ->  prints the validator's report as JSON; with EMAIL
the validator also checks that the hashed recipient identity is that address (or that URL,
`http...`, or that telephone, `+33...`).
"""

import json
import sys
from pathlib import Path
from urllib.parse import urlparse

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.models import Response

CONTEXTS = {
    "https://w3id.org/openbadges/v2": Path(__file__).with_name("openbadges-v2-context.json"),
}
LOOPBACK = {"127.0.0.1", "localhost"}


class OfflineAdapter(BaseAdapter):
    """Preloaded contexts for w3id.org; the real network for loopback; nothing else."""

    def __init__(self):
        super().__init__()
        self.http = HTTPAdapter()

    def send(self, request, **kwargs):
        url = request.url.split("#")[0]
        if urlparse(url).hostname in LOOPBACK:
            return self.http.send(request, **kwargs)
        resp = Response()
        resp.url = url
        resp.request = request
        path = CONTEXTS.get(url.rstrip("/"))
        if path is None:
            resp.status_code = 599
            resp._content = b"offline: not preloaded"
        else:
            resp.status_code = 200
            resp.headers["Content-Type"] = "application/ld+json"
            resp._content = path.read_bytes()
        resp.encoding = "utf-8"
        return resp

    def close(self):
        self.http.close()


_init = requests.Session.__init__


def _offline_init(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    adapter = OfflineAdapter()
    self.mount("http://", adapter)
    self.mount("https://", adapter)


requests.Session.__init__ = _offline_init

from openbadges.verifier import verify  # noqa: E402  (after the patch: it builds sessions)


def main(target, email=None):
    # the recipient to check: an e-mail, a URL (a profile page) or a telephone (+33...)
    kind = "url" if (email or "").startswith("http") else "email"
    kind = "telephone" if (email or "").startswith("+") else kind
    profile = {kind: email} if email else None
    if target.startswith("http"):
        report = verify(target, profile, use_cache=False)
    else:
        with open(target, "rb") as f:
            report = verify(f, profile, use_cache=False)
    json.dump(report, sys.stdout, default=str)


if __name__ == "__main__":
    main(*sys.argv[1:3])
