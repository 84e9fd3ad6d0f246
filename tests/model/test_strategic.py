"""Strategic merge patch: what kubectl sends (its real patch shapes, from `kubectl apply`)."""

from __future__ import annotations

import pytest

from orchestrator.model.errors import BadRequest, Invalid
from orchestrator.model.strategic import strategic_merge_patch

POD_SPEC = {"containers": [
    {"name": "web", "image": "web:1", "command": ["sleep", "1"], "ports": [{"containerPort": 80}],
     "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
    {"name": "sidecar", "image": "side:1"}],
    "tolerations": [{"key": "x", "operator": "Exists"}]}


def test_kubectl_apply_image_change_merges_the_container_by_name() -> None:
    patch = {"$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
             "containers": [{"name": "web", "image": "web:2"}]}
    out = strategic_merge_patch(POD_SPEC, patch)
    web, side = out["containers"]
    assert web == {**POD_SPEC["containers"][0], "image": "web:2"} and side == POD_SPEC["containers"][1]
    assert POD_SPEC["containers"][0]["image"] == "web:1"  # the input is not touched


def test_new_elements_append_and_set_element_order_orders_them() -> None:
    patch = {"containers": [{"name": "first", "image": "f:1"}],
             "$setElementOrder/containers": [{"name": "first"}, {"name": "web"}, {"name": "sidecar"}]}
    assert [c["name"] for c in strategic_merge_patch(POD_SPEC, patch)["containers"]] == ["first", "web", "sidecar"]


def test_nested_lists_merge_by_their_own_keys_and_null_removes_a_field() -> None:
    patch = {"containers": [{"name": "web", "command": None,
                             "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]}
    web = strategic_merge_patch(POD_SPEC, patch)["containers"][0]
    assert "command" not in web
    assert web["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]


def test_patch_delete_removes_an_element_and_replace_replaces_the_list() -> None:
    gone = strategic_merge_patch(POD_SPEC, {"containers": [{"name": "sidecar", "$patch": "delete"}]})
    assert [c["name"] for c in gone["containers"]] == ["web"]
    replaced = strategic_merge_patch(POD_SPEC, {"containers": [{"$patch": "replace"}, {"name": "only", "image": "o"}]})
    assert replaced["containers"] == [{"name": "only", "image": "o"}]
    whole = strategic_merge_patch({"a": {"x": 1, "y": 2}}, {"a": {"$patch": "replace", "z": 3}})
    assert whole == {"a": {"z": 3}}


def test_lists_without_a_merge_key_are_replaced() -> None:
    out = strategic_merge_patch(POD_SPEC, {"tolerations": [{"key": "y", "operator": "Exists"}]})
    assert out["tolerations"] == [{"key": "y", "operator": "Exists"}]


def test_finalizers_merge_as_a_set_and_delete_from_primitive_list_removes() -> None:
    meta = {"metadata": {"finalizers": ["a", "b"]}}
    assert strategic_merge_patch(meta, {"metadata": {"finalizers": ["c", "a"]}})["metadata"]["finalizers"] == [
        "a", "b", "c"]
    out = strategic_merge_patch(meta, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert out["metadata"]["finalizers"] == ["b"]


def test_retain_keys_drops_the_other_arm_of_a_union() -> None:
    live = {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}
    out = strategic_merge_patch(live, {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}})
    assert out == {"strategy": {"type": "Recreate"}}


def test_conditions_merge_by_type() -> None:
    status = {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Other", "status": "True"}]}
    out = strategic_merge_patch(status, {"conditions": [{"type": "Ready", "status": "True"}]})
    assert out["conditions"] == [{"type": "Ready", "status": "True"}, {"type": "Other", "status": "True"}]


@pytest.mark.parametrize(("patch", "where"), [
    ({"containers": [{"image": "no-name"}]}, "containers[0].name"),
    ({"containers": ["web"]}, "containers[0]"),
    ({"$bogus": 1}, "$bogus"),
    ({"spec": {"$patch": "explode"}}, "spec.$patch"),
    ({"$retainKeys": "type"}, "$retainKeys"),
])
def test_malformed_patches_are_invalid_with_the_path(patch: dict, where: str) -> None:
    with pytest.raises(Invalid) as err:
        strategic_merge_patch(POD_SPEC, patch)
    assert where in err.value.message


def test_a_patch_must_be_an_object() -> None:
    with pytest.raises(BadRequest):
        strategic_merge_patch(POD_SPEC, [1])
    with pytest.raises(Invalid):
        strategic_merge_patch(POD_SPEC, {"$patch": "delete"})
