"""What rendering produces: files as paths and texts, not yet written anywhere."""

from __future__ import annotations

from typing import Literal

import attrs

from pipedsl.record import Record

ArtifactKind = Literal["jenkinsfile", "manifest", "job", "setup"]


@attrs.frozen(eq=False, repr=False)
class Artifact(Record):
    """One generated file: ``path`` is relative to the output folder, with ``/`` separators
    (``lat32t/backend/Jenkinsfile``); ``text`` ends with a newline and uses LF line endings."""

    path: str
    text: str
    kind: ArtifactKind
