"""A ``kubectl`` that keeps the cluster in a JSON file: enough of get/apply/set image/rollout to
check what a deploy leaves running, and a record of every call (with ``--context`` and the
``KUBECONFIG`` it saw), so tests can check that every call names its namespace.

A Job cannot be applied over one of another pod template (its template is immutable, as in
Kubernetes): it must be deleted first; ``wait --for=condition=complete`` fails with
``FAKE_JOB_FAILS``.

``set image --local`` (which needs no cluster) is run by the real kubectl when one is installed,
else edited here as kubectl does: by container name, printing the object. ``apply -n NS`` of an
object of another namespace fails as kubectl does.
"""

from __future__ import annotations

import shutil

REAL_KUBECTL = shutil.which("kubectl")

FAKE_KUBECTL = r"""
import json, os, sys
from pathlib import Path
import yaml

STATE = Path(os.environ["FAKE_KUBECTL_STATE"])
state = json.loads(STATE.read_text()) if STATE.exists() else {"calls": [], "live": {}, "rollouts": {}}
args = sys.argv[1:]
context = None
if args[:1] == ["--context"]:
    context, args = args[1], args[2:]
state["calls"].append(args)
state.setdefault("contexts", []).append(context)
state.setdefault("kubeconfigs", []).append(os.environ.get("KUBECONFIG"))

def save():
    STATE.write_text(json.dumps(state))

def flag(name, default="default"):
    return args[args.index(name) + 1] if name in args else default

def pod_spec(obj):
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]

def images(obj):
    spec = pod_spec(obj)
    return {c["name"]: c["image"] for c in spec.get("initContainers", []) + spec["containers"]}

def fail(message):
    save()
    sys.stderr.write(message + "\n")
    sys.exit(1)

CLUSTER_SCOPED = ("Namespace", "PersistentVolume", "StorageClass", "ClusterRole")

def apply(obj, namespace):
    meta = obj["metadata"]
    if obj["kind"] not in CLUSTER_SCOPED:
        own = meta.get("namespace")
        if namespace is not None and own is not None and own != namespace:
            fail(f'error: the namespace from the provided object "{own}" does not match the namespace "{namespace}". You must pass \'--namespace={own}\' to perform this operation.')
        meta = {**meta, "namespace": own or namespace or "default"}
    key = f"{obj['kind'].lower()}/{meta.get('namespace', '')}/{meta['name']}"
    old = state["live"].get(key)
    if obj["kind"] == "Job":
        if old is not None and old["spec"]["template"] != obj["spec"]["template"]:
            fail(f'The Job "{meta["name"]}" is invalid: spec.template: Invalid value: field is immutable')
        if old is None:
            state.setdefault("jobs", {}).setdefault(key, []).append(images(obj))
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
        if old is None or old["spec"]["template"] != obj["spec"]["template"]:
            state["rollouts"].setdefault(key, []).append(images(obj))
    state["live"][key] = obj
    print(f"{obj['kind'].lower()}/{meta['name']} configured")

if args[:2] == ["get", "secret"]:
    if f"{flag('-n')}/{args[2]}" not in os.environ.get("FAKE_SECRETS", "").split(","):
        fail(f'Error from server (NotFound): secrets "{args[2]}" not found')
    print(args[2])
elif args[:2] == ["get", "service"]:
    key = f"service/{flag('-n')}/{args[2]}"
    if key not in state["live"]:
        fail(f'Error from server (NotFound): services "{args[2]}" not found')
    assert flag("-o") == "jsonpath={.spec.selector.app\\.kubernetes\\.io/name}", flag("-o")
    print(state["live"][key]["spec"]["selector"]["app.kubernetes.io/name"], end="")
elif args[:3] == ["set", "selector", "--local"] and os.environ.get("REAL_KUBECTL"):
    save()
    os.execv(os.environ["REAL_KUBECTL"], ["kubectl", *args])
elif args[:3] == ["set", "selector", "--local"]:
    obj = yaml.safe_load(Path(flag("-f")).read_text())
    # kubectl replaces the whole selector with the comma-separated key=value pairs given.
    obj["spec"]["selector"] = dict(pair.split("=", 1) for pair in args[5].split(","))
    print(yaml.safe_dump(obj), end="")
elif args[:3] == ["set", "image", "--local"] and os.environ.get("REAL_KUBECTL"):
    # The real kubectl edits files offline: let it, so the command line is kubectl's own.
    save()
    os.execv(os.environ["REAL_KUBECTL"], ["kubectl", *args])
elif args[:3] == ["set", "image", "--local"]:
    obj = yaml.safe_load(Path(flag("-f")).read_text())
    assert flag("-o") == "yaml"
    for pair in args[5:]:
        if "=" not in pair:
            continue
        name, image = pair.split("=", 1)
        spec = pod_spec(obj)
        found = [c for c in spec.get("initContainers", []) + spec["containers"] if c["name"] == name]
        if not found:
            fail(f'error: unable to find container named "{name}"')
        found[0]["image"] = image
    print(yaml.safe_dump(obj), end="")
elif args[:1] == ["apply"]:
    namespace = flag("-n", None)
    paths = [args[i + 1] for i, a in enumerate(args) if a == "-f"]
    for path in map(Path, paths):
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        for file in files:
            if file.suffix in (".yaml", ".yml", ".json"):
                apply(yaml.safe_load(file.read_text()), namespace)
elif args[:2] == ["delete", "job"]:
    assert "--ignore-not-found" in args, args
    state["live"].pop(f"job/{flag('-n')}/{args[2]}", None)
elif args[:1] == ["wait"]:
    assert flag("--for", None) is None and "--for=condition=complete" in args, args
    kind, name = args[2].split("/")
    if f"{kind}/{flag('-n')}/{name}" not in state["live"]:
        fail(f'Error from server (NotFound): {kind}s.batch "{name}" not found')
    if os.environ.get("FAKE_JOB_FAILS"):
        fail(f"error: timed out waiting for the condition on {kind}s/{name}")
    print(f"{kind}.batch/{name} condition met")
elif args[:2] == ["set", "image"]:
    kind, name = args[2].split("/")
    key = f"{kind}/{flag('-n')}/{name}"
    if key not in state["live"]:
        fail(f'Error from server (NotFound): {kind}s "{name}" not found')
    obj = state["live"][key]
    container, image = args[3].split("=", 1)
    before = images(obj)
    for c in obj["spec"]["template"]["spec"]["containers"]:
        if c["name"] == container:
            c["image"] = image
    if images(obj) != before:
        state["rollouts"].setdefault(key, []).append(images(obj))
elif args[:2] == ["rollout", "restart"]:
    kind, name = args[2].split("/")
    key = f"{kind}/{flag('-n')}/{name}"
    if key not in state["live"]:
        fail(f'Error from server (NotFound): {kind}s "{name}" not found')
    state["rollouts"].setdefault(key, []).append(images(state["live"][key]))
elif args[:2] == ["rollout", "status"]:
    kind, name = args[2].split("/")
    if f"{kind}/{flag('-n')}/{name}" not in state["live"]:
        fail(f'Error from server (NotFound): {kind}s "{name}" not found')
    if os.environ.get("FAKE_ROLLOUT_FAILS"):
        fail(f'error: {kind} "{name}" exceeded its progress deadline')
    print(f'{kind} "{name}" successfully rolled out')
else:
    fail(f"fake kubectl: unsupported {args}")
save()
"""
