"""References to Jenkins credentials. pipedsl never holds a secret value, only its id."""

from __future__ import annotations

from typing import Literal

import attrs

from pipedsl.model import _checks
from pipedsl.record import CachedRecord

CredentialKind = Literal["username_password", "secret_text", "secret_file", "ssh_key"]


@attrs.frozen(eq=False, repr=False)
class Credential(CachedRecord):
    """The id of a credential stored in Jenkins, and what kind it is.

    Build one with the named constructors; there is no field for a secret value, so none can
    end up in a generated file::

        Credential.username_password("dockerhub")
        Credential.secret_text("slack-token")
    """

    id: str = attrs.field(validator=_checks.CREDENTIAL_ID)
    kind: CredentialKind = attrs.field(
        validator=_checks.one_of(("username_password", "secret_text", "secret_file", "ssh_key"))
    )

    @classmethod
    def username_password(cls, id: str) -> Credential:
        """A "Username with password" credential (registry logins)."""
        return cls(id, "username_password")

    @classmethod
    def secret_text(cls, id: str) -> Credential:
        """A "Secret text" credential (tokens, webhook URLs)."""
        return cls(id, "secret_text")

    @classmethod
    def secret_file(cls, id: str) -> Credential:
        """A "Secret file" credential (kubeconfig, key files)."""
        return cls(id, "secret_file")

    @classmethod
    def ssh_key(cls, id: str) -> Credential:
        """An "SSH Username with private key" credential (Git over SSH)."""
        return cls(id, "ssh_key")
