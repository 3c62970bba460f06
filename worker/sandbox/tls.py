"""A private certificate authority (trustme) and a server TLS context for 127.0.0.1 / localhost."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TlsMaterial:
    """The server-side SSL context and the path of the CA certificate clients must trust."""

    server_context: ssl.SSLContext
    ca_path: str


def make_tls(directory: str | Path) -> TlsMaterial:
    """Create a fresh CA, issue a server certificate for 127.0.0.1 and localhost, write the CA PEM.

    The CA file is written to ``directory/sandbox-ca.pem``; point ``REQUESTS_CA_BUNDLE`` at it.
    """
    ca = trustme.CA(organization_name="tiersync sandbox CA")
    leaf = ca.issue_cert("127.0.0.1", "localhost", "::1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    leaf.configure_cert(context)
    ca_path = Path(directory) / "sandbox-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return TlsMaterial(server_context=context, ca_path=str(ca_path))
