"""The nginx frontend preset: the built files served by nginx, path prefixes proxied to backends
by their Services' DNS names, extra locations (fixed answers, redirects, cached assets).

Everything the preset writes into nginx's configuration language passes :func:`nginx_string`
(values) or a pattern of plain characters (paths, names): nginx reads ``$`` as a variable in
every string and has no escape for it, so a value that needs one is refused, not mangled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from pipedsl.errors import ModelError
from pipedsl.model import _checks
from pipedsl.model.infra import Image
from pipedsl.model.k8s.config import ConfigMap
from pipedsl.model.k8s.network import Service, ServicePort
from pipedsl.model.k8s.runtime import Runtime, RuntimeSpec
from pipedsl.model.k8s.storage import ConfigMapVolume
from pipedsl.model.k8s.workloads import (
    Container,
    ContainerPort,
    Deployment,
    HttpGet,
    Probe,
    Resources,
    RollingUpdate,
    VolumeMount,
)
from pipedsl.model.project import BackingService, Component
from pipedsl.presets._common import preset
from pipedsl.presets.runtimes import _namespace, _service_type
from pipedsl.record import Record

_PATH = r"/[A-Za-z0-9._~/-]*"
_LOCATION = re.compile(_PATH)
_NOT_IN_STRINGS = re.compile(r"[\x00-\x1f\x7f$]")


def nginx_string(value: str) -> str:
    """``value`` as one double-quoted nginx string that nginx reads back as ``value``.

    Backslashes and double quotes are escaped; ``$`` (always a variable to nginx, with no escape)
    and control characters (line breaks end a directive) raise :class:`ValueError`."""
    bad = _NOT_IN_STRINGS.search(value)
    if bad is not None:
        shown = "'$'" if bad.group() == "$" else f"character {bad.group()!r}"
        raise ValueError(
            f"{shown} cannot be written into nginx's configuration "
            + (
                "(nginx reads it as a variable and has no escape for it)"
                if bad.group() == "$"
                else "(it would end the directive)"
            )
        )
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _string(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value:
        raise _checks.fail(instance, attribute, f"expected a non-empty string, got {value!r}")
    try:
        nginx_string(value)
    except ValueError as error:
        raise _checks.fail(instance, attribute, f"{error}; got {value!r}") from None


def _check_path(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not _LOCATION.fullmatch(value):
        raise _checks.fail(
            instance,
            attribute,
            f"expected a URL path such as '/healthz' or '/assets/' (letters, digits and "
            f"'/._~-'), got {value!r}",
        )


_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")


def _header_problem(headers: object) -> str | None:
    """What is wrong with these (name, value) pairs for ``add_header``, or None."""
    if not isinstance(headers, tuple | list) or not all(
        isinstance(pair, tuple) and len(pair) == 2 for pair in headers
    ):
        return f"expected a dict of header names to values, got {headers!r}"
    for name, text in headers:
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            return (
                f"header name {name!r} is not allowed: letters, digits and '-' (such as "
                "'Cache-Control')"
            )
        if not isinstance(text, str):
            return f"header {name!r}: expected a string value, got {text!r}"
        try:
            nginx_string(text)
        except ValueError as error:
            return f"header {name!r}: {error}"
    names = [str(name).lower() for name, _ in headers]
    if len(set(names)) != len(names):
        return f"a header is given twice: {names}"
    return None


def _check_headers(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    problem = _header_problem(value)
    if problem is not None:
        raise _checks.fail(instance, attribute, problem)


_EXPIRES = _checks.matches(
    r"[0-9]{1,6}(ms|s|m|h|d|w|M|y)|off|epoch|max",
    "a duration such as '30d' or '1h' (at most 6 digits), or 'max', 'off'",
)
_SIZE = _checks.matches(
    r"[0-9]{1,6}[kKmMgG]?", "a size such as '10m' or '512k' ('0': no limit; at most 6 digits)"
)
_CONTENT_TYPE = _checks.matches(
    r"[a-z]+/[a-zA-Z0-9.+-]+", "a media type such as 'text/plain' or 'application/json'"
)
_REDIRECTS = (301, 302, 303, 307, 308)
_WEEK = 7 * 24 * 3600


def _timeout(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _WEEK:
        raise _checks.fail(instance, attribute, f"expected seconds 1-{_WEEK}, got {value!r}")


@attrs.frozen(eq=False, repr=False)
class Proxy(Record):
    """How the nginx frontend proxies a path prefix: ``proxy={"/api": Proxy(backend,
    strip_prefix=True)}`` sends ``/api/users?page=2`` to the backend as ``/users?page=2``
    (a bare Component or Service in ``proxy`` passes the path on unchanged)."""

    target: object = attrs.field()
    """A Component or backing service with a runtime, or a Service."""
    strip_prefix: bool = attrs.field(
        default=False, kw_only=True, validator=_checks.instance_of(bool)
    )
    timeout_seconds: int = attrs.field(default=3600, kw_only=True, validator=_timeout)
    """How long a response may take (long, for websockets and server-sent events)."""
    max_body: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_SIZE)
    )
    """The largest request body nginx passes on (nginx's default is ``1m``: uploads need
    more)."""


@attrs.frozen(eq=False, repr=False)
class NginxLocation(Record):
    """An extra location of the nginx frontend, one of:

    - a fixed answer: ``NginxLocation("/healthz", exact=True, body="ok")`` (``status`` 200);
    - a redirect: ``NginxLocation("/docs", redirect="https://docs.example.com/")`` (301);
    - a status alone: ``NginxLocation("/internal/", status=404)``;
    - files served with their own caching: ``NginxLocation("/assets/", expires="30d",
      headers={"Cache-Control": "public, immutable"})`` (a missing file is a 404, not the SPA's
      ``index.html``).
    """

    path: str = attrs.field(validator=_check_path)
    exact: bool = attrs.field(default=False, kw_only=True, validator=_checks.instance_of(bool))
    """Match the path only (``location = /healthz``), not everything below it."""
    status: int | None = attrs.field(default=None, kw_only=True)
    body: str | None = attrs.field(default=None, kw_only=True, validator=_checks.optional(_string))
    content_type: str = attrs.field(default="text/plain", kw_only=True, validator=_CONTENT_TYPE)
    redirect: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_string)
    )
    """Where to send the client: a URL or a path."""
    headers: tuple[tuple[str, str], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_checks.pairs, validator=_check_headers
    )
    expires: str | None = attrs.field(
        default=None, kw_only=True, validator=_checks.optional(_EXPIRES)
    )

    @status.validator
    def _check_status(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or not 200 <= value <= 599:
            raise _checks.fail(self, attribute, f"expected an HTTP status 200-599, got {value!r}")

    def __attrs_post_init__(self) -> None:
        if self.path == "/" and not self.exact:
            raise ModelError(
                "NginxLocation.path: '/' is the frontend itself; give exact=True to answer "
                "'/' alone, or a longer path"
            )
        if self.body is not None and self.redirect is not None:
            raise ModelError("NginxLocation: give body or redirect, not both")
        if self.redirect is not None:
            if self.status is not None and self.status not in _REDIRECTS:
                raise ModelError(
                    f"NginxLocation.status: a redirect answers "
                    f"{', '.join(map(str, _REDIRECTS))}, got {self.status}"
                )
            if not re.match(r"(https?://[^\s/]+)?/", self.redirect):
                raise ModelError(
                    f"NginxLocation.redirect: expected a URL such as 'https://example.com/' or "
                    f"a path such as '/new', got {self.redirect!r}"
                )
        elif self.status is not None and self.body is None and 300 <= self.status < 400:
            raise ModelError(
                f"NginxLocation.status: {self.status} is a redirect; give redirect= too"
            )

    @property
    def answer(self) -> str | None:
        """The ``return`` directive's arguments (None: serve files)."""
        if self.redirect is not None:
            return f"{self.status or 301} {nginx_string(self.redirect)}"
        if self.body is not None:
            return f"{self.status or 200} {nginx_string(self.body)}"
        if self.status is not None:
            return str(self.status)
        return None


@attrs.frozen(eq=False, repr=False)
class _Route(Record):
    path: str
    service: Service
    proxy: Proxy


def _regex(path: str) -> str:
    return re.sub(r"[.]", r"\\.", path.rstrip("/"))


def _add_headers(headers: Mapping[str, str], indent: str) -> list[str]:
    return [f"{indent}add_header {name} {nginx_string(v)} always;" for name, v in headers.items()]


def nginx_config(
    routes: Sequence[_Route],
    *,
    port: int = 80,
    spa: bool = True,
    locations: Sequence[NginxLocation] = (),
    headers: Mapping[str, str] | None = None,
) -> str:
    """An nginx server block: serve the built files (falling back to ``index.html`` for
    client-side routes when ``spa``), answer the extra ``locations``, and proxy each route's
    path prefix to a Service by its DNS name, with the headers websockets need
    (``Upgrade``/``Connection``) on every proxied path."""
    server_headers = dict(headers or {})
    fallback = "/index.html" if spa else "=404"
    lines = [
        "# Connection: upgrade only for requests that ask for it (websockets).",
        "map $http_upgrade $connection_upgrade {",
        "    default upgrade;",
        "    ''      close;",
        "}",
        "",
        "server {",
        f"    listen {port};",
        "    server_name _;",
        "    root /usr/share/nginx/html;",
        "    index index.html;",
        *_add_headers(server_headers, "    "),
        "",
        "    # Backends are looked up when a request comes, not when nginx starts: on a first",
        "    # deploy the frontend may start before the backend's Service exists.",
        "    resolver kube-dns.kube-system.svc.cluster.local valid=10s ipv6=off;",
        "",
        "    location / {",
        f"        try_files $uri $uri/ {fallback};",
        "    }",
    ]
    for location in locations:
        match = "= " if location.exact else ""
        lines += ["", f"    location {match}{location.path} {{"]
        if location.expires is not None:
            lines.append(f"        expires {location.expires};")
        if location.headers:
            # nginx drops the server's add_header lines in a location that has its own.
            lines += _add_headers({**server_headers, **dict(location.headers)}, "        ")
        answer = location.answer
        if answer is None:
            lines.append("        try_files $uri $uri/ =404;")
        else:
            if location.body is not None:
                lines.append(f"        default_type {location.content_type};")
            lines.append(f"        return {answer};")
        lines.append("    }")
    for index, route in enumerate(routes, 1):
        proxy = route.proxy
        lines += ["", f"    location {route.path} {{"]
        if proxy.max_body is not None:
            lines.append(f"        client_max_body_size {proxy.max_body};")
        # Through a variable, so that the resolver above looks the name up per request; no
        # URI after host:port, so the request path (or the rewritten one) is passed on.
        lines.append(f"        set $upstream_{index} {route.service.url()};")
        if proxy.strip_prefix:
            lines.append(f"        rewrite ^{_regex(route.path)}(?:/(.*))?$ /$1 break;")
        lines += [
            f"        proxy_pass $upstream_{index};",
            "        proxy_http_version 1.1;",
            "        proxy_set_header Host $host;",
            "        proxy_set_header X-Real-IP $remote_addr;",
            "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "        proxy_set_header X-Forwarded-Proto $scheme;",
            "        proxy_set_header Upgrade $http_upgrade;",
            "        proxy_set_header Connection $connection_upgrade;",
            f"        proxy_read_timeout {proxy.timeout_seconds}s;",
            "    }",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _proxy_service(path: str, target: object) -> Service:
    if isinstance(target, Service):
        return target
    if isinstance(target, Component | BackingService):
        if target.runtime is None:
            raise ModelError(
                f"nginx_frontend: proxy[{path!r}] is component {target.name!r}, which has no "
                "runtime (so no Service to proxy to)"
            )
        return target.runtime.service
    raise ModelError(
        f"nginx_frontend: proxy[{path!r}] must be a Component, a Service or a Proxy of one "
        f"(proxied by its cluster DNS name), got {type(target).__name__} {target!r}; a "
        "hard-coded address breaks when the Service is recreated"
    )


def _routes(proxy: Mapping[str, object]) -> list[_Route]:
    routes = []
    for path, given in proxy.items():
        if not isinstance(path, str) or not _LOCATION.fullmatch(path):
            raise ModelError(
                f"nginx_frontend: proxy path {path!r} is not allowed: a URL path prefix such as "
                "'/api'"
            )
        if path == "/":
            raise ModelError(
                "nginx_frontend: proxy path '/' is not allowed: the frontend itself serves '/'; "
                "proxy a prefix such as '/api'"
            )
        spec = given if isinstance(given, Proxy) else Proxy(given)
        routes.append(_Route(path, _proxy_service(path, spec.target), spec))
    return routes


def _check_locations(locations: Sequence[NginxLocation], routes: Sequence[_Route]) -> None:
    seen = {(False, route.path): "proxy" for route in routes}
    for index, location in enumerate(locations):
        if not isinstance(location, NginxLocation):
            raise ModelError(
                f"nginx_frontend: locations[{index}] must be an NginxLocation, got "
                f"{type(location).__name__} {location!r}"
            )
        key = (location.exact, location.path)
        if key in seen:
            raise ModelError(
                f"nginx_frontend: locations[{index}] {location.path!r} is given twice (also in "
                f"{seen[key]}); nginx refuses a duplicate location"
            )
        seen[key] = f"locations[{index}]"


@preset
def nginx_frontend(
    *,
    proxy: Mapping[str, object] | None = None,
    expose: str = "LoadBalancer",
    port: int = 80,
    node_port: int | None = None,
    spa: bool = True,
    locations: Sequence[NginxLocation] = (),
    headers: Mapping[str, str] | None = None,
    replicas: int = 1,
    resources: Resources | None = None,
    namespace: str = "default",
) -> RuntimeSpec:
    """An nginx container serving the frontend's built ``dist/`` (the image's Dockerfile copies
    it to ``/usr/share/nginx/html``), configured by a ConfigMap ``<name>-nginx`` mounted at
    ``/etc/nginx/conf.d``, exposed by a Service of type ``expose`` (``LoadBalancer``: MetalLB
    hands out the address) on a fixed ``node_port`` when given.

    ``proxy`` maps path prefixes to Components or Services (or a :class:`Proxy` of one, to strip
    the prefix or allow larger uploads), proxied by the Service's DNS name
    (``http://backend.default.svc.cluster.local:8080``), never an IP::

        runtime=nginx_frontend(proxy={"/api": Proxy(backend, strip_prefix=True), "/ws": backend})

    ``spa`` answers unknown paths with ``index.html`` (client-side routes); ``spa=False``
    answers 404. ``locations`` adds :class:`NginxLocation` answers; ``headers`` are added to
    every response (such as ``{"X-Frame-Options": "DENY"}``).
    """
    expose = _service_type("nginx_frontend", expose)
    if not isinstance(spa, bool):
        raise ModelError(f"nginx_frontend: spa must be True or False, got {spa!r}")
    if node_port is not None:
        if expose == "ClusterIP":
            raise ModelError(
                "nginx_frontend: node_port needs expose='NodePort' or 'LoadBalancer', not "
                "'ClusterIP'"
            )
        if (
            isinstance(node_port, bool)
            or not isinstance(node_port, int)
            or not (30000 <= node_port <= 32767)
        ):
            raise ModelError(
                f"nginx_frontend: node_port must be in the NodePort range 30000-32767, got "
                f"{node_port!r}"
            )
    routes = _routes(proxy or {})
    extra: tuple[NginxLocation, ...] = tuple(_checks.to_tuple(locations))  # type: ignore[arg-type]
    _check_locations(extra, routes)
    if not isinstance(headers, Mapping | None):
        raise ModelError(
            f"nginx_frontend: headers must be a dict of names to values, got {headers!r}"
        )
    problem = _header_problem(list((headers or {}).items()))
    if problem is not None:
        raise ModelError(f"nginx_frontend: headers: {problem}")

    def build(name: str, image: Image) -> Runtime:
        http = ContainerPort("http", port)
        config = ConfigMap(
            f"{name}-nginx",
            {
                "default.conf": nginx_config(
                    routes, port=port, spa=spa, locations=extra, headers=headers
                )
            },
            namespace=namespace,
        )
        container = Container(
            name,
            image,
            ports=[http],
            readiness=Probe(HttpGet("/", http), period_seconds=5),
            liveness=Probe(HttpGet("/", http), period_seconds=10),
            resources=resources,
            mounts=[
                VolumeMount(
                    ConfigMapVolume("nginx-conf", config), "/etc/nginx/conf.d", read_only=True
                )
            ],
        )
        deployment = Deployment(
            name,
            [container],
            replicas=replicas,
            strategy=RollingUpdate(max_surge=1, max_unavailable=0),
            min_ready_seconds=5,
            termination_grace_period_seconds=30,
            namespace=namespace,
        )
        service = Service(deployment, ports=[ServicePort(http, node_port=node_port)], type=expose)
        return Runtime([*_namespace(namespace), config, deployment, service])

    return RuntimeSpec(build, description="nginx frontend")
