"""POST /join: tokens, node credentials, live-name conflicts, and what a node may write."""

from __future__ import annotations

from tests.server.conftest import Api

JOIN = {"name": "gpu-1", "address": "127.0.0.1:10250", "cpuMillis": 8000, "memoryBytes": 32 * 2**30,
        "gpus": [{"index": 0, "uuid": "GPU-aaaa", "model": "NVIDIA H100 80GB HBM3", "memoryMiB": 81559},
                 {"index": 1, "uuid": "GPU-bbbb", "model": "NVIDIA H100 80GB HBM3", "memoryMiB": 81559}],
        "runtime": "docker", "labels": {"zone": "a"}}


async def test_join_creates_node_lease_and_credential(api: Api) -> None:
    status, body = await api.call("POST", "/join", json=JOIN, token=api.join_token)
    assert status == 201, body
    node_token = body["token"]
    assert body["nodeName"] == "gpu-1" and body["apiServers"]
    status, node = await api.call("GET", "/api/v1/nodes/gpu-1")
    assert node["status"]["capacity"]["nvidia.com/gpu"] == "2" and node["status"]["capacity"]["cpu"] == "8"
    assert node["metadata"]["labels"]["nvidia.com/gpu.count"] == "2"
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "gpu-1"
    assert node["metadata"]["labels"]["zone"] == "a"
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in node["spec"]["taints"]
    assert [d["uuid"] for d in node["status"]["gpus"]] == ["GPU-aaaa", "GPU-bbbb"]
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])
    status, lease = await api.call("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/gpu-1")
    assert status == 200 and lease["spec"]["renewTime"]
    # the node credential reads, and writes only its own things
    status, _ = await api.call("GET", "/api/v1/namespaces/default/pods", token=node_token)
    assert status == 200
    status, _ = await api.call("PATCH", "/api/v1/nodes/gpu-1", data='{"metadata":{"labels":{"x":"y"}}}',
                               headers={"Content-Type": "application/merge-patch+json"}, token=node_token)
    assert status == 200
    await api.call("POST", "/join", json={**JOIN, "name": "other", "gpus": []}, token=api.join_token)
    status, body = await api.call("PATCH", "/api/v1/nodes/other", data='{"metadata":{"labels":{"x":"y"}}}',
                                  headers={"Content-Type": "application/merge-patch+json"}, token=node_token)
    assert status == 403 and body["reason"] == "Forbidden"
    status, _ = await api.call("GET", "/api/v1/namespaces/orch-system/secrets", token=node_token)
    assert status == 403


async def test_node_cannot_write_other_nodes_pods(api: Api) -> None:
    _, a = await api.call("POST", "/join", json={**JOIN, "name": "a", "gpus": []}, token=api.join_token)
    await api.call("POST", "/join", json={**JOIN, "name": "b", "gpus": []}, token=api.join_token)
    for name, node in (("pa", "a"), ("pb", "b")):
        await api.call("POST", "/api/v1/namespaces/default/pods", json={
            "metadata": {"name": name}, "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}})
    _, pa = await api.call("GET", "/api/v1/namespaces/default/pods/pa")
    pa["status"] = {"phase": "Running"}
    status, _ = await api.call("PUT", "/api/v1/namespaces/default/pods/pa/status", json=pa, token=a["token"])
    assert status == 200
    _, pb = await api.call("GET", "/api/v1/namespaces/default/pods/pb")
    pb["status"] = {"phase": "Running"}
    status, body = await api.call("PUT", "/api/v1/namespaces/default/pods/pb/status", json=pb, token=a["token"])
    assert status == 403
    status, _ = await api.call("DELETE", "/api/v1/namespaces/default/pods/pb", token=a["token"])
    assert status == 403
    status, _ = await api.call("POST", "/api/v1/namespaces/default/pods", token=a["token"],
                               json={"metadata": {"name": "sneaky"}, "spec": {"containers": [{"name": "c", "image": "x"}]}})
    assert status == 403


async def test_wrong_token_and_live_name(api: Api) -> None:
    status, body = await api.call("POST", "/join", json=JOIN, token="not-a-token")
    assert status == 401 and "not valid" in body["message"]
    _, nodes = await api.call("GET", "/api/v1/nodes")
    assert nodes["items"] == []  # nothing was created
    status, first = await api.call("POST", "/join", json=JOIN, token=api.join_token)
    assert status == 201
    status, body = await api.call("POST", "/join", json=JOIN, token=api.join_token)
    assert status == 409 and "held by a live node" in body["message"]
    # the node itself, restarting, rejoins with its credential (no join token) and gets a new one
    status, again = await api.call("POST", "/join", json=JOIN, token=first["token"])
    assert status == 200 and again["token"] != first["token"]
    status, _ = await api.call("GET", "/api/v1/nodes", token=first["token"])
    assert status == 401  # the old credential was replaced
    status, body = await api.call("POST", "/join", json={**JOIN, "name": "Bad_Name"}, token=api.join_token)
    assert status == 422 and "Bad_Name" in body["message"]


async def test_revoked_join_token_is_refused(api: Api) -> None:
    from orchestrator.server.auth import digest
    token = "a-second-join-token-for-tests"
    status, _ = await api.call("POST", "/api/v1/namespaces/orch-system/secrets", json={
        "metadata": {"name": "join-extra", "annotations": {"orch.io/token-digest": digest(token)}},
        "type": "orch.io/join-token"})
    assert status == 201
    import asyncio
    from orchestrator.server import credentials
    sync = asyncio.create_task(credentials.sync_tokens(api.state))
    try:
        await asyncio.sleep(0.05)
        # created before the sync started: picked up by load_tokens at boot in real servers; reload here
        credentials.load_tokens(api.state.objects, api.state.tokens)
        status, _ = await api.call("POST", "/join", json={**JOIN, "name": "x1", "gpus": []}, token=token)
        assert status == 201
        await api.call("DELETE", "/api/v1/namespaces/orch-system/secrets/join-extra")
        await asyncio.sleep(0.05)
        status, _ = await api.call("POST", "/join", json={**JOIN, "name": "x2", "gpus": []}, token=token)
        assert status == 401
    finally:
        sync.cancel()
        await asyncio.gather(sync, return_exceptions=True)


async def test_node_creates_its_own_lease_but_not_another(api: Api) -> None:
    _, a = await api.call("POST", "/join", json={**JOIN, "name": "lease-a", "gpus": []}, token=api.join_token)
    leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
    await api.call("DELETE", f"{leases}/lease-a")
    status, body = await api.call("POST", leases, token=a["token"],
                                  json={"metadata": {"name": "lease-a"}, "spec": {"holderIdentity": "lease-a"}})
    assert status == 201, body
    status, _ = await api.call("POST", leases, token=a["token"],
                               json={"metadata": {"name": "lease-b"}, "spec": {"holderIdentity": "lease-b"}})
    assert status == 403


async def test_node_reads_only_the_secrets_its_pods_use(api: Api) -> None:
    _, a = await api.call("POST", "/join", json={**JOIN, "name": "sa", "gpus": []}, token=api.join_token)
    await api.call("POST", "/join", json={**JOIN, "name": "sb", "gpus": []}, token=api.join_token)
    for name in ("mine", "theirs", "unused"):
        await api.call("POST", "/api/v1/namespaces/default/secrets",
                       json={"metadata": {"name": name}, "stringData": {"k": "v"}})
    for pod, node, secret in (("pa", "sa", "mine"), ("pb", "sb", "theirs")):
        status, body = await api.call("POST", "/api/v1/namespaces/default/pods", json={
            "metadata": {"name": pod}, "spec": {"nodeName": node, "containers": [{
                "name": "c", "image": "busybox",
                "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": secret, "key": "k"}}}]}]}})
        assert status == 201, body
    secrets = "/api/v1/namespaces/default/secrets"
    status, _ = await api.call("GET", f"{secrets}/mine", token=a["token"])
    assert status == 200
    for other in ("theirs", "unused"):
        status, _ = await api.call("GET", f"{secrets}/{other}", token=a["token"])
        assert status == 403, other
    status, _ = await api.call("GET", secrets, token=a["token"])
    assert status == 403


async def test_a_rejoin_from_a_new_address_moves_the_node_there(api: Api) -> None:
    """An agent restarted on another port (the embedded agent listens on a free one) rejoins
    with its node credential: logs and exec must reach it at the new port."""
    status, body = await api.call("POST", "/join", json=JOIN, token=api.join_token)
    assert status == 201, body
    moved = {**JOIN, "address": "127.0.0.2:41717", "gpus": JOIN["gpus"][:1]}
    status, _ = await api.call("POST", "/join", json=moved, token=body["token"])
    assert status == 200
    _, node = await api.call("GET", "/api/v1/nodes/gpu-1")
    assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == 41717
    assert {"type": "InternalIP", "address": "127.0.0.2"} in node["status"]["addresses"]
    assert node["status"]["capacity"]["nvidia.com/gpu"] == "1" and len(node["status"]["gpus"]) == 1
