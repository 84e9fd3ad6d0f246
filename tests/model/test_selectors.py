"""Label selectors (strings and structs) and field selectors: parsing, matching, errors."""

from __future__ import annotations

import pytest

from orchestrator.model.pods import Pod
from orchestrator.model.selectors import (
    FieldSelector,
    Selector,
    SelectorError,
    field_value,
    from_label_selector,
    parse_field_selector,
    parse_label_selector,
)
from orchestrator.model.templates import LabelSelector, LabelSelectorRequirement

from tests.model.factories import make_pod

LABELS = {"app": "web", "tier": "front", "env": "prod", "gpu": "", "rank": "5"}


@pytest.mark.parametrize(("text", "expected"), [
    ("", True),
    ("app=web", True),
    ("app==web", True),
    ("app=db", False),
    ("app!=db", True),
    ("app!=web", False),
    ("missing!=x", True),
    ("env in (prod,stage)", True),
    ("env in (stage)", False),
    ("env notin (dev, stage)", True),
    ("missing notin (x)", True),
    ("env notin (prod)", False),
    ("gpu", True),
    ("missing", False),
    ("!missing", True),
    ("!app", False),
    ("rank>3", True),
    ("rank<3", False),
    ("app>3", False),
    ("gpu=", True),
    ("app=web,tier=front,env in (prod),!spot", True),
    ("app=web, tier=back", False),
    ("  app = web ,  tier in ( front ) ", True),
])
def test_label_selector_strings(text: str, expected: bool) -> None:
    assert parse_label_selector(text).matches(LABELS) is expected


@pytest.mark.parametrize(("text", "fragment"), [
    ("app=web,", "expected a label key, found end of selector"),
    ("app in web", "expected '(' after 'in'"),
    ("app in (a,b", "expected ',' or ')' in a value list"),
    ("app in ()", "the value list of \"app in\" is empty"),
    ("app=web tier=x", "expected ','"),
    ("=web", "expected a label key"),
    ("app>x", "must be an integer"),
    ("bad key=1", 'found "key"'),
    ("Bad_Prefix/app=1", 'key "Bad_Prefix/app": prefix part'),
    ("app=-bad", 'value "-bad"'),
    ("app=web)", "expected ','"),
    ("!", "a label key after '!'"),
])
def test_label_selector_errors(text: str, fragment: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_label_selector(text)
    assert fragment in str(info.value)
    assert text in str(info.value)


def test_selector_is_canonical_and_cached() -> None:
    a = parse_label_selector("tier in (b,a),app=web,!x")
    assert str(a) == "!x,app=web,tier in (a,b)"
    assert parse_label_selector(str(a)) == a
    assert parse_label_selector("tier in (b,a),app=web,!x") is a
    assert parse_label_selector("").empty()
    assert Selector.everything().matches({}) and not Selector.nothing().matches({})


def test_struct_selector() -> None:
    sel = LabelSelector(match_labels={"app": "web"},
                        match_expressions=[LabelSelectorRequirement(key="env", operator="In", values=["prod", "stage"]),
                                           LabelSelectorRequirement(key="spot", operator="DoesNotExist")])
    s = from_label_selector(sel)
    assert s.matches(LABELS)
    assert not s.matches({"app": "web", "env": "prod", "spot": "1"})
    assert str(s) == "!spot,app=web,env in (prod,stage)"
    assert from_label_selector(None).matches(LABELS) is False
    assert from_label_selector(LabelSelector()).matches(LABELS) is True


@pytest.mark.parametrize(("sel", "field", "fragment"), [
    (LabelSelector(match_expressions=[LabelSelectorRequirement(key="a", operator="In")]),
     "matchExpressions[0].values", "Required value"),
    (LabelSelector(match_expressions=[LabelSelectorRequirement(key="a", operator="Exists", values=["x"])]),
     "matchExpressions[0].values", "Forbidden"),
    (LabelSelector(match_expressions=[LabelSelectorRequirement(key="a", operator="Equals", values=["x"])]),
     "matchExpressions[0].operator", 'Unsupported value: "Equals"'),
    (LabelSelector(match_labels={"app": "bad value"}), "matchLabels.app", "a valid label must be"),
])
def test_struct_selector_errors(sel: LabelSelector, field: str, fragment: str) -> None:
    with pytest.raises(SelectorError) as info:
        from_label_selector(sel)
    assert info.value.field == field and fragment in str(info.value)


def test_field_selectors_on_structs_and_dicts() -> None:
    pod: Pod = make_pod(spec={"nodeName": "n1"}, status={"phase": "Running"})
    assert parse_field_selector("spec.nodeName=n1").matches(pod)
    assert parse_field_selector("spec.nodeName==n1,status.phase!=Succeeded").matches(pod)
    assert not parse_field_selector("spec.nodeName!=n1").matches(pod)
    assert parse_field_selector("metadata.name=web-0,metadata.namespace=default").matches(pod)
    assert parse_field_selector("spec.nodeName=").matches(make_pod())  # unscheduled pods
    wire = {"metadata": {"name": "web-0"}, "spec": {"nodeName": "n1"}}
    assert parse_field_selector("spec.nodeName=n1,metadata.name=web-0").matches(wire)
    assert field_value(pod, "status.phase") == "Running"
    assert parse_field_selector("").empty() and isinstance(parse_field_selector(""), FieldSelector)


def test_field_selector_unknown_field_is_named() -> None:
    with pytest.raises(SelectorError, match='"spec.foo" is not a supported field') as info:
        parse_field_selector("spec.nodeName=n1,spec.foo=bar")
    assert "metadata.name" in str(info.value)
    with pytest.raises(SelectorError, match="is not <field>=<value>"):
        parse_field_selector("spec.nodeName")


def test_field_selector_escapes_and_events() -> None:
    sel = parse_field_selector(r"involvedObject.name=a\,b,type=Warning")
    assert sel.terms == (("involvedObject.name", True, "a,b"), ("type", True, "Warning"))
