"""The nginx frontend preset, served by a real nginx: the rendered ``default.conf`` (read back
from the rendered ConfigMap) answers as the options say — a stripped prefix reaches the backend
without it, extra locations answer, the SPA fallback is on or off, headers reach every
response, values with quotes and backslashes arrive exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipedsl import (
    ConfigMap,
    Container,
    ContainerPort,
    Deployment,
    DockerHub,
    ModelError,
    NginxLocation,
    Proxy,
    Service,
    nginx_frontend,
    render_project,
)
from pipedsl.load import load_project
from pipedsl.presets.nginx import nginx_string
from tests.support import tally
from tests.support.nginx import serve

FIXTURE = Path(__file__).parent / "fixtures" / "projects" / "cluster_kinds.py"
API = "orders.orders.svc.cluster.local"
FILES = {"index.html": "<p>app</p>", "assets/app.js": "console.log(1)"}


def _rendered(path: str) -> dict[str, Any]:
    project = load_project(FIXTURE)
    (artifact,) = [a for a in render_project(project) if a.path == f"kinds/{path}"]
    data: dict[str, Any] = yaml.safe_load(artifact.text)
    return data


@pytest.fixture(scope="module")
def conf() -> str:
    text: str = _rendered("web/k8s/30-configmap-web-nginx.yaml")["data"]["default.conf"]
    return text


def test_a_stripped_prefix_reaches_the_backend_without_it(conf: str, tmp_path: Path) -> None:
    with serve(conf, tmp_path, FILES, services={API: 2}) as web:
        for sent, received in [
            ("/api/orders?page=2", "/orders?page=2"),
            ("/api", "/"),
            ("/api/", "/"),
            ("/api/a/b%20c", "/a/b%20c"),
        ]:
            assert web.get(sent).body == b"backend"
            assert web.backend.requests[-1][1] == received, sent
        # Without strip_prefix, the path is passed on unchanged.
        assert web.get("/ws/events").status == 200
        assert web.backend.requests[-1][1] == "/ws/events"
        # max_body lets a 5 MB upload through (nginx's default is 1 MB).
        assert web.get("/api/upload", "POST", b"x" * 5_000_000).status == 200
        tally.add("nginx frontend requests served by a real nginx", 7)


def test_locations_answer_and_headers_reach_every_response(conf: str, tmp_path: Path) -> None:
    with serve(conf, tmp_path, FILES, services={API: 2}) as web:
        health = web.get("/healthz")
        assert (health.status, health.body) == (200, b"ok")
        assert health.headers["content-type"] == "text/plain"
        docs = web.get("/docs")
        assert (docs.status, docs.headers["location"]) == (301, "https://docs.example.com/orders/")
        asset = web.get("/assets/app.js")
        assert (asset.status, asset.body) == (200, b"console.log(1)")
        assert asset.headers["cache-control"] == "public"
        assert "expires" in asset.headers
        # The server's headers also reach a location with its own (nginx would drop them).
        for response in (asset, health, docs, web.get("/")):
            assert response.headers["x-frame-options"] == "DENY"
        assert web.get("/assets/missing.js").status == 404
        # spa=False: an unknown path is a 404, not index.html.
        assert web.get("/some/route").status == 404
        assert web.get("/").body == b"<p>app</p>"


def _spa_conf(**options: Any) -> str:
    port = ContainerPort("http", 8080)
    api = Service(Deployment("api", [Container("api", "nginx:1.27", ports=[port])]), ports=[port])
    runtime = nginx_frontend(proxy={"/api": api}, **options)("web", DockerHub("a/web").tagged())
    (config,) = [o for o in runtime.objects if isinstance(o, ConfigMap)]
    text: str = dict(config.data)["default.conf"]
    return text


def test_the_spa_fallback_answers_client_side_routes(tmp_path: Path) -> None:
    with serve(_spa_conf(), tmp_path, FILES, services={"api.default.svc.cluster.local": 1}) as web:
        route = web.get("/orders/42")
        assert (route.status, route.body) == (200, b"<p>app</p>")


def test_the_node_port_is_fixed() -> None:
    service = _rendered("web/k8s/40-service-web.yaml")
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080, "protocol": "TCP"}
    ]


values = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="$"), min_size=1, max_size=30
).filter(lambda v: not any(ord(c) < 0x20 or ord(c) == 0x7F for c in v))


@settings(max_examples=5, deadline=None)
@given(st.lists(values, min_size=10, max_size=10))
def test_quoted_values_arrive_exactly(
    tmp_path_factory: pytest.TempPathFactory, bodies: list[str]
) -> None:
    """Bodies with quotes, backslashes, braces, semicolons and any Unicode go through
    :func:`nginx_string` into a real nginx and come back byte for byte."""
    fixed = ['a "quoted" \\ value', "\\", '"', "';{}#", "}\n".strip(), "ünï €"]
    bodies = fixed + bodies
    locations = [NginxLocation(f"/b/{i}", exact=True, body=b) for i, b in enumerate(bodies)]
    conf = _spa_conf(locations=locations)
    with serve(
        conf, tmp_path_factory.mktemp("nginx"), FILES, services={"api.default.svc.cluster.local": 1}
    ) as web:
        for index, body in enumerate(bodies):
            assert web.get(f"/b/{index}").body == body.encode(), body
    tally.add("nginx string values served back exactly", len(bodies))


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("a$b", "NginxLocation.body: '$' cannot be written into nginx's configuration (nginx "
         "reads it as a variable and has no escape for it); got 'a$b'"),
        ("a\nb", "NginxLocation.body: character '\\n' cannot be written into nginx's "
         "configuration (it would end the directive); got 'a\\nb'"),
    ],
)  # fmt: skip
def test_values_nginx_cannot_carry_are_refused(value: str, error: str) -> None:
    with pytest.raises(ModelError) as caught:
        NginxLocation("/x", body=value)
    assert str(caught.value) == error
    with pytest.raises(ValueError, match="cannot be written"):
        nginx_string(value)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: nginx_frontend(node_port=30080, expose="ClusterIP"),
         "nginx_frontend: node_port needs expose='NodePort' or 'LoadBalancer', not 'ClusterIP'"),
        (lambda: nginx_frontend(node_port=80, expose="NodePort"),
         "nginx_frontend: node_port must be in the NodePort range 30000-32767, got 80"),
        (lambda: nginx_frontend(locations=[NginxLocation("/a"), NginxLocation("/a")]),
         "nginx_frontend: locations[1] '/a' is given twice (also in locations[0]); nginx refuses "
         "a duplicate location"),
        (lambda: nginx_frontend(headers={"X Bad": "1"}),
         "nginx_frontend: headers: header name 'X Bad' is not allowed: letters, digits and '-' "
         "(such as 'Cache-Control')"),
        (lambda: nginx_frontend(proxy={"/api": Proxy("10.0.0.5:8080")}),
         "nginx_frontend: proxy['/api'] must be a Component, a Service or a Proxy of one "
         "(proxied by its cluster DNS name), got str '10.0.0.5:8080'; a hard-coded address "
         "breaks when the Service is recreated"),
        (lambda: NginxLocation("/"),
         "NginxLocation.path: '/' is the frontend itself; give exact=True to answer '/' alone, "
         "or a longer path"),
        (lambda: NginxLocation("/a", status=302),
         "NginxLocation.status: 302 is a redirect; give redirect= too"),
        (lambda: NginxLocation("/a", redirect="/b", status=200),
         "NginxLocation.status: a redirect answers 301, 302, 303, 307, 308, got 200"),
        (lambda: NginxLocation("/a", redirect="b"),
         "NginxLocation.redirect: expected a URL such as 'https://example.com/' or a path such "
         "as '/new', got 'b'"),
        (lambda: NginxLocation("/a", body="x", redirect="/b"),
         "NginxLocation: give body or redirect, not both"),
        (lambda: Proxy(object(), max_body="lots"),
         "Proxy.max_body: 'lots' is not allowed: a size such as '10m' or '512k' ('0': no limit; at "
         "most 6 digits)"),
        (lambda: NginxLocation("/x", headers=5),
         "NginxLocation.headers: expected a dict of header names to values, got 5"),
        (lambda: NginxLocation("/x", headers=["XY"]),
         "NginxLocation.headers: expected a dict of header names to values, got ('XY',)"),
        (lambda: Proxy(object(), timeout_seconds=10**20),
         "Proxy.timeout_seconds: expected seconds 1-604800, got 100000000000000000000"),
    ],
)  # fmt: skip
def test_option_errors_name_what_was_written(call: Any, error: str) -> None:
    with pytest.raises(ModelError) as caught:
        call()
    assert str(caught.value) == error
