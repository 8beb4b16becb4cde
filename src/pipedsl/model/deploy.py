"""Where a component's rendered manifests are deployed: deploy targets.

A target says only *where* and *with which credential*; every target deploys the same way
(:mod:`pipedsl.resolve.deploy` and :mod:`pipedsl.render.deploy`): exactly the rendered files,
the Secrets the pods need checked first, the workload pinned to the image this build pushed
before anything is applied, an explicit namespace on every ``kubectl`` call, a rollout wait on
every workload, and a failed stage on any failure.

- :class:`~pipedsl.SshServer`: over Publish Over SSH, on a host that runs ``kubectl``;
- :class:`Kubectl`: ``kubectl`` on the build agent, with a kubeconfig from a Jenkins
  secret-file credential, or with the agent pod's own service account;
- :class:`GitOps`: the pinned manifests committed to a Git repository that Argo CD (or another
  GitOps controller) syncs, optionally waiting for the Argo CD application;
- :class:`Restart`: apply, then ``kubectl rollout restart`` — for images that are deployed
  under one tag on purpose (a mutable tag); allowed only when asked for this way;
- :class:`BlueGreen`: two Deployments, the Service switched to the idle one once it rolled.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.credentials import Credential
from pipedsl.model.infra import Image, SshServer
from pipedsl.model.k8s import _checks as k8s
from pipedsl.model.k8s.workloads import Resources
from pipedsl.model.pipeline import Approval
from pipedsl.model.steps import DeployPlan, Step, credential_of
from pipedsl.record import CachedRecord

_NAME = _checks.matches(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", "a Kubernetes object name")
_GIT_URL = _checks.matches(
    r"(https?|ssh|git)://[^\s'\"\\\x00-\x1f\x7f]+|[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+:[^\s'\"\\\x00-\x1f\x7f]+",
    "a Git URL such as https://github.com/org/deploy.git or git@github.com:org/deploy.git",
)
_BRANCH = _checks.matches(
    r"(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)[^\s~^:?*\[\\\x00-\x1f\x7f]+(?<![/.])",
    "a Git branch name (no spaces, '~', '^', ':', '?', '*', '[', '..' or '\\\\')",
)
_FOLDER = _checks.matches(
    r"(?!/)(?!.*(^|/)\.\.?(/|$))[A-Za-z0-9_./-]+(?<!/)",
    "a relative folder in the repository, with '/' separators and no '..'",
)


@attrs.frozen(eq=False, repr=False)
class Kubectl(CachedRecord):
    """``kubectl`` run on the build agent.

    ``Kubectl(Credential.secret_file("kubeconfig-staging"), context="staging")`` reads the
    cluster and user from a kubeconfig stored in Jenkins as a secret file (bound to
    ``KUBECONFIG`` for the deploy only); ``Kubectl.in_cluster()`` uses the service account of
    the pod the agent runs in (a Kubernetes agent: give its service account the rights to
    apply the manifests and watch rollouts).
    """

    kubeconfig: Credential | None = attrs.field(
        default=None, validator=_checks.optional(credential_of("secret_file"))
    )
    context: str | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_checks.optional(
            _checks.matches(r"[A-Za-z0-9][A-Za-z0-9_.:@/-]*", "a kubeconfig context name")
        ),
    )

    def __attrs_post_init__(self) -> None:
        if self.kubeconfig is None and self.context is not None:
            raise ModelError(
                "Kubectl.context: a context selects one of a kubeconfig's clusters; "
                "in-cluster kubectl has none (give kubeconfig=Credential.secret_file(...))"
            )

    @classmethod
    def in_cluster(cls) -> Kubectl:
        """``kubectl`` with the service account of the pod the agent runs in."""
        return cls()

    @property
    def label(self) -> str:
        """How messages name this target."""
        if self.kubeconfig is None:
            return "kubectl (in-cluster service account)"
        context = f", context {self.context}" if self.context else ""
        return f"kubectl (kubeconfig {self.kubeconfig.id}{context})"


@attrs.frozen(eq=False, repr=False)
class ArgoCD(CachedRecord):
    """An Argo CD application to wait for after a :class:`GitOps` commit: the ``argocd`` CLI
    on the agent waits until the application is synced to the commit and healthy (its pods
    started: a missing Secret or a crashing pod fails the stage), with a token from a Jenkins
    secret-text credential (``ARGOCD_AUTH_TOKEN``)."""

    application: str = attrs.field(validator=_NAME)
    server: str = attrs.field(
        kw_only=True, validator=_checks.matches(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?", "host[:port]")
    )
    token: Credential = attrs.field(kw_only=True, validator=credential_of("secret_text"))
    timeout_seconds: int = attrs.field(default=600, kw_only=True, validator=_checks.positive_int)


@attrs.frozen(eq=False, repr=False)
class GitOps(CachedRecord):
    """Commit the component's manifests, pinned to the image this build pushed, to ``path`` of
    a Git repository's ``branch`` (a GitOps controller such as Argo CD applies them).

    ``update="manifests"`` replaces the folder with exactly the rendered files;
    ``update="image"`` only points the image in the workload's manifest already in the folder
    at the pushed image (for teams whose deploy repository holds its own manifests). The
    commit message names the job and build; a push that loses a race with another push is
    rebased and pushed again (5 attempts), so each build commits once. ``credential`` is a
    username/password (an HTTPS token) or an SSH key credential.
    """

    repository: str = attrs.field(validator=[_GIT_URL, _checks.carriable])
    path: str = attrs.field(kw_only=True, validator=_FOLDER)
    credential: Credential = attrs.field(
        kw_only=True, validator=credential_of("username_password", "ssh_key")
    )
    branch: str = attrs.field(default="main", kw_only=True, validator=_BRANCH)
    update: Literal["manifests", "image"] = attrs.field(
        default="manifests", kw_only=True, validator=_checks.one_of(("manifests", "image"))
    )
    argocd: ArgoCD | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(ArgoCD))
    )

    @property
    def label(self) -> str:
        return f"GitOps ({self.repository} {self.branch}:{self.path})"


def _kubectl_only(what: str) -> _checks.Validator:
    """The target of a deploy only ``kubectl`` on the agent can do: another target is refused
    saying why, not only by its type."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, Kubectl):
            return
        raise _checks.fail(
            instance,
            attribute,
            f"{what} is not supported with {type(value).__name__} {value!r}: it needs kubectl "
            "on the agent and the cluster's answers; give Kubectl(Credential.secret_file(...)) "
            "or Kubectl.in_cluster()",
        )

    return check


@attrs.frozen(eq=False, repr=False)
class Restart(CachedRecord):
    """Apply the manifests, then restart the component's workloads (``kubectl rollout
    restart``) and wait for them: for an image deployed under a fixed tag on purpose, which a
    restart re-pulls. Only an image whose tag has no per-build placeholder may be deployed so;
    every other image is pinned by the other targets."""

    kubectl: Kubectl = attrs.field(validator=_kubectl_only("a restart (kubectl rollout restart)"))

    @property
    def label(self) -> str:
        return f"restart with {self.kubectl.label}"


@attrs.frozen(eq=False, repr=False)
class BlueGreen(CachedRecord):
    """A blue/green deploy with ``kubectl``: the component's Deployment exists twice,
    ``<name>-blue`` and ``<name>-green``, and its Service selects one of them. Each deploy finds
    the idle colour from the live Service (not from the build number), rolls the idle
    Deployment onto the pushed image and waits for it; only then does the Service switch to it.
    The previous colour keeps running its image, for a rollback in one command (printed by
    the deploy, see docs/deploy.md)."""

    kubectl: Kubectl = attrs.field(
        validator=_kubectl_only("a blue/green deploy (a Service switched between colours)")
    )

    @property
    def label(self) -> str:
        return f"blue/green with {self.kubectl.label}"


DeployTarget = SshServer | Kubectl | GitOps | Restart | BlueGreen
DEPLOY_TARGETS: tuple[type, ...] = (SshServer, Kubectl, GitOps, Restart, BlueGreen)


@attrs.frozen(eq=False, repr=False)
class DeployManifests(Step):
    """Deploy the component's own rendered manifests to ``target`` (a :class:`Kubectl`,
    :class:`GitOps` or :class:`Restart`; over SSH the presets use :class:`~pipedsl.ShipManifests`
    and :class:`~pipedsl.ApplyManifests`), rolling its workload onto the image this build
    pushed and failing the stage unless every workload's rollout completes in
    ``timeout_seconds``. Resolved when rendered, against the files render writes."""

    target: Kubectl | GitOps | Restart | BlueGreen = attrs.field(
        validator=_checks.instance_of((Kubectl, GitOps, Restart, BlueGreen))
    )
    timeout_seconds: int = attrs.field(default=300, kw_only=True, validator=_checks.positive_int)
    environment: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_NAME)
    )
    """The component's environment to deploy (its manifests of that environment)."""


@attrs.frozen(eq=False, repr=False)
class KubernetesDeploy(Step):
    """A :class:`DeployManifests` resolved against the rendered manifests: the target, the
    plan, and the image pushed (what the workload is pinned to)."""

    target: Kubectl | GitOps | Restart | BlueGreen
    plan: DeployPlan
    image: Image


def _overrides(value: object) -> tuple[tuple[str, tuple[tuple[str, object], ...]], ...]:
    if not isinstance(value, dict):
        return value  # type: ignore[return-value]  # the validator reports it
    return tuple(
        (name, tuple(dict(data).items()) if isinstance(data, dict) else data)
        for name, data in value.items()
    )


def _check_overrides(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(item, tuple)
        and len(item) == 2
        and isinstance(item[0], str)
        and isinstance(item[1], tuple)
        for item in value
    ):
        raise _checks.fail(
            instance,
            attribute,
            "expected {ConfigMap name: {key: value}}, e.g. {'backend-config': {'LOG_LEVEL': 'warn'}}",
        )


@attrs.frozen(eq=False, repr=False)
class Environment(CachedRecord):
    """One place a component is deployed to, in order (staging, then production): its target,
    and how its objects differ from the component's one runtime there — ``namespace``,
    ``replicas`` of the workload that runs the component's image, that container's
    ``resources``, and ``config`` values of its ConfigMaps (``{ConfigMap name: {key: value}}``;
    only keys the ConfigMap has). Manifests are rendered per environment
    (``<component>/k8s/<environment>/``). Every environment deploys the image the same build
    pushed: a later environment is a promotion, never a rebuild. ``approval`` gates it."""

    name: str = attrs.field(validator=_NAME)
    deploy: DeployTarget = attrs.field(
        default=None, kw_only=True, validator=_checks.instance_of(DEPLOY_TARGETS)
    )
    namespace: str | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_checks.optional(k8s.NAME),
    )
    replicas: int | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.positive_int)
    )
    resources: Resources | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Resources))
    )
    config: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_overrides, validator=_check_overrides
    )
    approval: Approval | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_checks.instance_of(Approval))
    )
