"""Each verb and each error code, over real HTTP."""

from __future__ import annotations

import aiohttp

from tests.server.conftest import Api, pod

PODS = "/api/v1/namespaces/default/pods"


async def test_create_get_list_and_already_exists(api: Api) -> None:
    status, body = await api.call("POST", PODS, json=pod("web", labels={"app": "web"}))
    assert status == 201, body
    meta = body["metadata"]
    assert meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"] and meta["generation"] == 1
    assert body["spec"]["restartPolicy"] == "Always"  # defaults applied
    status, body = await api.call("POST", PODS, json=pod("web"))
    assert status == 409 and body["reason"] == "AlreadyExists" and body["kind"] == "Status"
    assert 'pods "web" already exists' in body["message"]
    status, body = await api.call("GET", f"{PODS}/web")
    assert status == 200 and body["metadata"]["name"] == "web"
    status, body = await api.call("GET", f"{PODS}/nope")
    assert status == 404 and body["reason"] == "NotFound" and 'pods "nope" not found' in body["message"]
    status, body = await api.call("GET", PODS)
    assert status == 200 and body["kind"] == "PodList" and [i["metadata"]["name"] for i in body["items"]] == ["web"]


async def test_create_in_missing_namespace_is_404(api: Api) -> None:
    status, body = await api.call("POST", "/api/v1/namespaces/ghost/pods", json=pod("x"))
    assert status == 404 and 'namespaces "ghost" not found' in body["message"]


async def test_generate_name(api: Api) -> None:
    body = pod("")
    body["metadata"] = {"generateName": "job-"}
    status, out = await api.call("POST", PODS, json=body)
    assert status == 201 and out["metadata"]["name"].startswith("job-") and len(out["metadata"]["name"]) == 9


async def test_selectors_and_pagination(api: Api) -> None:
    for i in range(7):
        await api.call("POST", PODS, json=pod(f"p{i}", labels={"tier": "a" if i % 2 else "b", "n": str(i)}))
    _, body = await api.call("GET", f"{PODS}?labelSelector=tier%3Da")
    assert [i["metadata"]["name"] for i in body["items"]] == ["p1", "p3", "p5"]
    _, body = await api.call("GET", f"{PODS}?labelSelector=n+in+(1,2),tier!%3Da")
    assert [i["metadata"]["name"] for i in body["items"]] == ["p2"]
    _, body = await api.call("GET", f"{PODS}?fieldSelector=metadata.name%3Dp4")
    assert [i["metadata"]["name"] for i in body["items"]] == ["p4"]
    _, body = await api.call("GET", "/api/v1/pods?fieldSelector=metadata.namespace%3Ddefault,status.phase%3DPending")
    assert len(body["items"]) == 7
    names, cont = [], ""
    while True:
        _, body = await api.call("GET", f"{PODS}?limit=3" + (f"&continue={cont}" if cont else ""))
        names += [i["metadata"]["name"] for i in body["items"]]
        cont = body["metadata"].get("continue", "")
        if not cont:
            break
    assert names == [f"p{i}" for i in range(7)]
    status, body = await api.call("GET", f"{PODS}?labelSelector=a+in+(")
    assert status == 400 and "invalid selector" in body["message"]
    status, body = await api.call("GET", f"{PODS}?fieldSelector=spec.bogus%3D1")
    assert status == 400 and "spec.bogus" in body["message"]


async def test_update_conflict_and_generation(api: Api) -> None:
    _, created = await api.call("POST", "/apis/apps/v1/namespaces/default/deployments", json={
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                 "template": {"metadata": {"labels": {"app": "d"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
    path = "/apis/apps/v1/namespaces/default/deployments/d"
    stale = dict(created)
    created["metadata"]["labels"] = {"x": "y"}
    status, updated = await api.call("PUT", path, json=created)
    assert status == 200 and updated["metadata"]["generation"] == 1  # metadata only: no bump
    status, body = await api.call("PUT", path, json=stale)
    assert status == 409 and body["reason"] == "Conflict" and "modified" in body["message"]
    updated["spec"]["replicas"] = 3
    status, again = await api.call("PUT", path, json=updated)
    assert status == 200 and again["metadata"]["generation"] == 2
    # status is ignored on the main resource and is all that /status takes
    again["status"] = {"replicas": 9}
    _, after = await api.call("PUT", path, json=again)
    assert after.get("status", {}).get("replicas") is None
    after["status"] = {"replicas": 3}
    after["spec"]["replicas"] = 100
    status, st = await api.call("PUT", path + "/status", json=after)
    assert status == 200 and st["status"]["replicas"] == 3 and st["spec"]["replicas"] == 3
    status, scale = await api.call("GET", path + "/scale")
    assert status == 200 and scale["kind"] == "Scale" and scale["spec"]["replicas"] == 3
    status, scale = await api.call("PUT", path + "/scale", json={"spec": {"replicas": 5}})
    assert status == 200 and scale["spec"]["replicas"] == 5


async def test_merge_and_json_patch(api: Api) -> None:
    await api.call("POST", PODS, json=pod("p", labels={"a": "1"}))
    status, body = await api.call("PATCH", f"{PODS}/p", data='{"metadata":{"labels":{"b":"2","a":null}}}',
                                  headers={"Content-Type": "application/merge-patch+json"})
    assert status == 200 and body["metadata"]["labels"] == {"b": "2"}
    status, body = await api.call("PATCH", f"{PODS}/p",
                                  data='[{"op":"add","path":"/metadata/annotations","value":{"k":"v"}},'
                                       '{"op":"replace","path":"/spec/containers/0/image","value":"busybox:2"}]',
                                  headers={"Content-Type": "application/json-patch+json"})
    assert status == 200 and body["metadata"]["annotations"] == {"k": "v"}
    assert body["spec"]["containers"][0]["image"] == "busybox:2"
    status, body = await api.call("PATCH", f"{PODS}/p", data='[{"op":"remove","path":"/nope"}]',
                                  headers={"Content-Type": "application/json-patch+json"})
    assert status == 422 and body["kind"] == "Status"
    status, body = await api.call("PATCH", f"{PODS}/p", data='{"spec":{"containers":[{"name":"c","imagee":"x"}]}}',
                                  headers={"Content-Type": "application/merge-patch+json"})
    assert status == 422 and "spec.containers[0].imagee: unknown field" in body["message"]
    status, body = await api.call("PATCH", f"{PODS}/p", data="{}", headers={"Content-Type": "text/plain"})
    assert status == 415


async def test_strategic_merge_patch_merges_containers_by_name(api: Api) -> None:
    await api.call("POST", PODS, json=pod("s"))
    smp = {"Content-Type": "application/strategic-merge-patch+json"}
    _, before = await api.call("GET", f"{PODS}/s")
    (container,) = before["spec"]["containers"]
    status, body = await api.call("PATCH", f"{PODS}/s", headers=smp, data='{"spec":{"containers":[{"name":"%s",'
                                  '"image":"busybox:3"}]},"metadata":{"finalizers":["x.io/a"]}}' % container["name"])
    assert status == 200, body
    assert body["spec"]["containers"] == [{**container, "image": "busybox:3"}]
    status, body = await api.call("PATCH", f"{PODS}/s", headers=smp,
                                  data='{"spec":{"containers":[{"image":"nameless"}]}}')
    assert status == 422 and "spec.containers[0].name" in body["message"], body
    status, body = await api.call("PATCH", f"{PODS}/s", headers=smp,
                                  data='{"metadata":{"$deleteFromPrimitiveList/finalizers":["x.io/a"]}}')
    assert status == 200 and not body["metadata"].get("finalizers"), body


async def test_delete_with_finalizers_and_policies(api: Api) -> None:
    body = pod("f")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    _, created = await api.call("POST", PODS, json=body)
    status, marked = await api.call("DELETE", f"{PODS}/f")
    assert status == 202 and marked["metadata"]["deletionTimestamp"]
    status, still = await api.call("GET", f"{PODS}/f")
    assert status == 200
    still["metadata"]["finalizers"] = []
    status, _ = await api.call("PUT", f"{PODS}/f", json=still)
    assert status == 200
    status, _ = await api.call("GET", f"{PODS}/f")
    assert status == 404
    await api.call("POST", PODS, json=pod("g"))
    status, marked = await api.call("DELETE", f"{PODS}/g", json={"propagationPolicy": "Foreground"})
    assert status == 202 and "foregroundDeletion" in marked["metadata"]["finalizers"]
    await api.call("POST", PODS, json=pod("h"))
    status, marked = await api.call("DELETE", f"{PODS}/h?propagationPolicy=Orphan")
    assert status == 202 and "orphan" in marked["metadata"]["finalizers"]
    status, body = await api.call("DELETE", f"{PODS}/h?propagationPolicy=Sideways")
    assert status == 400 and "propagationPolicy" in body["message"]
    await api.call("POST", PODS, json=pod("i"))
    status, gone = await api.call("DELETE", f"{PODS}/i", json={"preconditions": {"resourceVersion": "1"}})
    assert status == 409
    status, gone = await api.call("DELETE", f"{PODS}/i")
    assert status == 200 and gone["metadata"]["name"] == "i"
    status, _ = await api.call("DELETE", f"{PODS}/i")
    assert status == 404


async def test_delete_collection_and_namespace_cascade(api: Api) -> None:
    await api.call("POST", "/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace",
                                                       "metadata": {"name": "tmp"}})
    for i in range(3):
        await api.call("POST", "/api/v1/namespaces/tmp/configmaps",
                       json={"metadata": {"name": f"c{i}", "labels": {"g": str(i % 2)}}, "data": {"k": "v"}})
    status, body = await api.call("DELETE", "/api/v1/namespaces/tmp/configmaps?labelSelector=g%3D0")
    assert status == 200 and len(body["items"]) == 2
    _, ns = await api.call("GET", "/api/v1/namespaces/tmp")
    assert ns["spec"]["finalizers"] == ["kubernetes"] and ns["status"]["phase"] == "Active"
    status, body = await api.call("DELETE", "/api/v1/namespaces/tmp")  # the namespace controller empties it
    assert status == 202 and body["status"]["phase"] == "Terminating" and body["metadata"]["deletionTimestamp"]
    status, body = await api.call("POST", "/api/v1/namespaces/tmp/configmaps", json={"metadata": {"name": "late"}})
    assert status == 403 and "being terminated" in body["message"]
    _, ns = await api.call("GET", "/api/v1/namespaces/tmp")
    status, body = await api.call("PUT", "/api/v1/namespaces/tmp", json={**ns, "spec": {"finalizers": []}})
    assert status == 200 and body["spec"]["finalizers"] == ["kubernetes"]  # only /finalize changes them
    status, body = await api.call("DELETE", "/api/v1/namespaces/default")
    assert status == 403 and "may not be deleted" in body["message"]


async def test_binding(api: Api) -> None:
    await api.call("POST", PODS, json=pod("b"))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "b"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"}}
    status, body = await api.call("POST", f"{PODS}/b/binding", json=binding)
    assert status == 201, body
    _, got = await api.call("GET", f"{PODS}/b")
    assert got["spec"]["nodeName"] == "n1"
    status, body = await api.call("POST", f"{PODS}/b/binding", json=binding)
    assert status == 409 and "already assigned" in body["message"]


async def test_auth_401_and_403(api: Api) -> None:
    status, body = await api.call("GET", PODS, token="")
    assert status == 401 and body["kind"] == "Status" and body["reason"] == "Unauthorized"
    status, body = await api.call("GET", PODS, token="wrong")
    assert status == 401
    status, body = await api.call("GET", PODS, token=api.join_token)
    assert status == 403 and body["reason"] == "Forbidden"
    status, _ = await api.call("GET", "/healthz", token="")
    assert status == 200


async def test_wrong_kind_method_and_body_errors(api: Api) -> None:
    status, body = await api.call("POST", PODS, data=b"{not json", headers={"Content-Type": "application/json"})
    assert status == 400 and body["reason"] == "BadRequest"
    bad = pod("x")
    bad["spec"]["containers"][0]["imagee"] = "typo"
    status, body = await api.call("POST", PODS, json=bad)
    assert status == 422 and "spec.containers[0].imagee: unknown field" in body["message"]
    assert body["details"]["causes"][0]["field"] == "spec.containers[0].imagee"
    status, body = await api.call("POST", PODS, json={"apiVersion": "v1", "kind": "Node", "metadata": {"name": "x"}})
    assert status == 400
    status, body = await api.call("POST", PODS, data=b"x" * (300 * 1024))
    assert status == 413 and body["reason"] == "RequestEntityTooLarge"
    status, body = await api.call("GET", "/api/v1/namespaces/default/widgets")
    assert status == 404 and "widgets" in body["message"]
    status, body = await api.call("PUT", PODS, json=pod("x"))
    assert status in (404, 405)


async def test_discovery_formats(api: Api) -> None:
    _, body = await api.call("GET", "/api")
    assert body["kind"] == "APIVersions" and body["versions"] == ["v1"]
    _, body = await api.call("GET", "/apis")
    assert body["kind"] == "APIGroupList" and {g["name"] for g in body["groups"]} >= {"apps", "batch",
                                                                                      "coordination.k8s.io"}
    _, body = await api.call("GET", "/api/v1")
    pods = next(r for r in body["resources"] if r["name"] == "pods")
    assert body["kind"] == "APIResourceList" and pods["shortNames"] == ["po"] and "watch" in pods["verbs"]
    _, body = await api.call("GET", "/apis/apps/v1")
    assert {r["name"] for r in body["resources"]} >= {"deployments", "replicasets", "daemonsets", "deployments/scale"}
    _, body = await api.call("GET", "/version")
    assert body["major"] == "1" and "gitVersion" in body
    async with api.http.get(api.url + "/metrics", headers={"Authorization": f"Bearer {api.token}"}) as resp:
        text = await resp.text()
    assert "orch_api_request_seconds_bucket" in text and "orch_store_commit_seconds" in text
    assert "orch_watchers" in text


async def test_kubectl_style_client_can_read(api: Api) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(api.url + "/api/v1/namespaces", headers={"Authorization": f"Bearer {api.token}"}) as r:
            body = await r.json()
    assert {i["metadata"]["name"] for i in body["items"]} >= {"default", "kube-system"}


async def test_client_bind_carries_cas_and_annotations(api: Api) -> None:
    from orchestrator.client import Client
    from orchestrator.model import errors
    _, created = await api.call("POST", PODS, json=pod("cb"))
    rv = created["metadata"]["resourceVersion"]
    async with Client(api.url, api.token) as client:
        try:
            await client.bind("default", "cb", "n1", expected_rv=str(int(rv) - 1))
            raise AssertionError("a stale resourceVersion must be refused")
        except errors.Conflict:
            pass
        await client.bind("default", "cb", "n1", expected_rv=rv, annotations={"example.com/placed-by": "test"})
    _, bound = await api.call("GET", f"{PODS}/cb")
    assert bound["spec"]["nodeName"] == "n1"
    assert bound["metadata"]["annotations"]["example.com/placed-by"] == "test"


async def test_table_answers_for_kubectl(api: Api) -> None:
    await api.call("POST", PODS, json=pod("t1"))
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    status, body = await api.call("GET", PODS, headers=accept)
    assert status == 200 and body["kind"] == "Table"
    names = [c["name"] for c in body["columnDefinitions"]]
    assert names[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert {c["name"]: c["priority"] for c in body["columnDefinitions"]}["NODE"] == 1  # -o wide only
    assert body["rows"][0]["cells"][:3] == ["t1", "0/1", "Pending"]
    assert body["rows"][0]["object"]["metadata"]["name"] == "t1"
    status, one = await api.call("GET", f"{PODS}/t1", headers=accept)
    assert one["kind"] == "Table" and len(one["rows"]) == 1


async def test_server_side_apply_creates_then_merges_and_reads_yaml(api: Api) -> None:
    apply = {"Content-Type": "application/apply-patch+yaml"}
    cms = "/api/v1/namespaces/default/configmaps"
    status, body = await api.call("PATCH", f"{cms}/ssa?fieldManager=kubectl", headers=apply,
                                  data="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: '1'\n")
    assert status == 201, body
    assert body["data"] == {"a": "1"}
    status, body = await api.call("PATCH", f"{cms}/ssa", headers=apply, data='{"data": {"b": "2"}}')
    assert status == 200 and body["data"] == {"a": "1", "b": "2"}, body
    status, body = await api.call("PATCH", f"{cms}/other", headers=apply,
                                  data="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n")
    assert status == 400 and "does not match" in body["message"], body
    status, body = await api.call("PATCH", f"{cms}/bad", headers=apply, data="a: [unclosed")
    assert status == 400 and "YAML" in body["message"], body
    status, _ = await api.call("GET", f"{cms}/bad")
    assert status == 404

