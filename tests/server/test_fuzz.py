"""Throw malformed input at every route: only 4xx Status answers, and the server lives."""

from __future__ import annotations

import random

from orchestrator.model.registry import REGISTRY
from tests.server.conftest import Api

BAD_BODIES: list[bytes] = [
    b"", b"{", b"[]", b"null", b"42", b'"str"', b"\xff\xfe\x00garbage", b'{"metadata": 7}',
    b'{"metadata": {"name": 5}}', b'{"metadata": {"name": "UPPER_case!"}}', b'{"spec": []}',
    b'{"spec": {"containers": "nope"}}', b'{"spec": {"replicas": "three"}}', b'{"spec": {"replicas": -1}}',
    b'{"kind": "Nope", "metadata": {"name": "x"}}', b'{"apiVersion": "v9", "metadata": {"name": "x"}}',
    b'{"metadata": {"name": "x", "labels": {"bad key!": "v"}}}', b'{"unknownTop": 1, "metadata": {"name": "x"}}',
    b'{"metadata": {"name": "x", "resourceVersion": "abc"}}',
    b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: yaml\n", b'{"metadata": {"name": "' + b"a" * 400 + b'"}}',
    b'{"a":' * 500 + b"1" + b"}" * 500,
    b"x" * (300 * 1024),
]
PATCH_TYPES = ["application/merge-patch+json", "application/json-patch+json", "application/json", "text/yaml"]


async def test_malformed_input_everywhere_gives_only_4xx(api: Api) -> None:
    rng = random.Random(7)
    for kind in REGISTRY.kinds:
        ns = "default" if kind.namespaced else ""
        collection = kind.api_path(ns)
        item = kind.api_path(ns, "fuzz")
        targets = [("POST", collection), ("PUT", item), ("PATCH", item), ("DELETE", item)]
        targets += [("PUT", f"{item}/{sub}") for sub in kind.subresources if sub in ("status", "scale")]
        targets += [("POST", f"{item}/{sub}") for sub in ("binding", "eviction") if sub in kind.subresources]
        for method, path in targets:
            for body in BAD_BODIES:
                ctype = rng.choice(PATCH_TYPES) if method == "PATCH" else "application/json"
                status, answer = await api.call(method, path, data=body, headers={"Content-Type": ctype})
                assert 400 <= status < 500, (method, path, body[:60], status, answer)
                assert isinstance(answer, dict) and answer.get("kind") == "Status", (method, path, answer)
        for query in ("?limit=-1", "?limit=abc", "?labelSelector=%%%", "?fieldSelector=nope", "?continue=%%%",
                      "?watch=true&resourceVersion=abc"):
            status, answer = await api.call("GET", collection + query)
            assert 400 <= status < 500, (collection + query, status, answer)
    for path in ("/api/v2/pods", "/apis/nope/v1/things", "/api/v1/namespaces/default/pods/a/b/c/d", "/apis/apps/v7"):
        status, _ = await api.call("GET", path)
        assert status == 404
    status, _ = await api.call("GET", "/readyz", token="")
    assert status == 200


NASTY_PATCHES: list[bytes] = [
    b'{"metadata": null}', b'{"spec": null}', b'{"spec": {"containers": [{"$patch": "delete"}]}}',
    b'{"spec": {"containers": [{"name": "c", "$patch": "delete"}]}}', b'{"spec": {"containers": [7]}}',
    b'{"spec": {"containers": [{"name": {"x": 1}}]}}', b'{"spec": {"$setElementOrder/containers": [1, [2], null]}}',
    b'{"spec": {"$setElementOrder/containers": "x"}}', b'{"metadata": {"$deleteFromPrimitiveList/finalizers": 5}}',
    b'{"spec": {"$retainKeys": [1, 2]}}', b'{"$patch": "replace"}', b'{"$patch": "delete"}', b'{"$patch": 7}',
    b'{"spec": {"containers": {"$patch": "replace"}}}', b'{"metadata": {"finalizers": [{"a": 1}]}}',
    b'{"metadata": {"annotations": {"orch.io/gpu-devices": "GPU-1"}}}',
    b'[{"op": "remove", "path": "/metadata"}]', b'[{"op": "move", "from": "/spec", "path": "/spec/x"}]',
    b"metadata:\n  labels: [1, 2\n", b"- a\n- b\n", b"metadata: {name: other}\n",
]


async def test_patches_of_every_type_on_live_objects_give_only_2xx_or_4xx(api: Api) -> None:
    """Patches that parse but do damage (drop metadata, delete every container, odd directives)."""
    await api.call("POST", "/api/v1/namespaces", json={"metadata": {"name": "fz"}})
    pod = {"metadata": {"name": "victim"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    cm = {"metadata": {"name": "victim"}, "data": {"k": "v"}}
    for path, body in (("/api/v1/namespaces/default/pods", pod), ("/api/v1/namespaces/default/configmaps", cm)):
        status, _ = await api.call("POST", path, json=body)
        assert status == 201
    targets = ["/api/v1/namespaces/default/pods/victim", "/api/v1/namespaces/default/pods/victim/status",
               "/api/v1/namespaces/default/configmaps/victim", "/api/v1/namespaces/fz",
               "/api/v1/namespaces/fz/finalize", "/api/v1/namespaces/fz/status"]
    ctypes = ["application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json",
              "application/apply-patch+yaml"]
    for path in targets:
        for ctype in ctypes:
            for body in NASTY_PATCHES + BAD_BODIES[:12]:
                status, answer = await api.call("PATCH", path, data=body, headers={"Content-Type": ctype})
                assert status < 500, (path, ctype, body[:60], status, answer)
                assert isinstance(answer, dict), (path, ctype, body[:60], answer)
        for body in BAD_BODIES[:12]:
            status, answer = await api.call("PUT", path, data=body, headers={"Content-Type": "application/json"})
            assert status < 500, (path, "PUT", body[:60], status, answer)
    status, _ = await api.call("GET", "/readyz", token="")
    assert status == 200
