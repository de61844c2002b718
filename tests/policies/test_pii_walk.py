"""The walk over a request body: every string that can leave is a leaf, and writes go back."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw.policies.pii.walk import FIELD_NAMES, STRUCTURAL, Leaf, render_path, replace, walk

MARK = "536-90-4399"


def leaf_texts(body: Any) -> dict[str, str]:
    return {
        render_path(leaf.path) + ("#key" if leaf.is_key else ""): leaf.text
        for leaf in walk(body).leaves
    }


def test_structural_values_are_skipped_only_inside_their_vocabulary() -> None:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hi"}, {"role": f"user {MARK}", "content": "x"}],
        "tool_choice": "auto",
    }
    texts = leaf_texts(body)
    assert "model" not in texts and "tool_choice" not in texts
    assert "messages[0].role" not in texts
    assert texts["messages[1].role"] == f"user {MARK}"
    assert texts["messages[0].content"] == "hi"


def test_model_is_never_a_leaf_because_the_adapter_replaces_it() -> None:
    assert walk({"model": f"ft:{MARK}"}).leaves == ()


def test_data_keys_are_leaves_and_schema_keys_are_not() -> None:
    body = {
        "metadata": {"customer jane@example.com": "1"},
        "tools": [{"function": {"parameters": {"properties": {"order_id": {"type": "string"}}}}}],
        "x_new_field": "v",
    }
    texts = leaf_texts(body)
    assert texts["metadata.customer jane@example.com#key"] == "customer jane@example.com"
    assert texts["tools[0].function.parameters.properties.order_id#key"] == "order_id"
    assert texts["x_new_field#key"] == "x_new_field" and texts["x_new_field"] == "v"
    assert "metadata#key" not in texts and "tools#key" not in texts
    assert {"properties", "description", "user", "stop", "prediction"} <= FIELD_NAMES


def test_embeddings_input_is_walked_as_a_string_or_a_list() -> None:
    assert [leaf.text for leaf in walk({"input": "call 212-555-0123"}).leaves] == [
        "call 212-555-0123"
    ]
    assert [leaf.text for leaf in walk({"input": ["a", "b"]}).leaves] == ["a", "b"]


def test_parts_that_cannot_be_read_are_opaque_once_with_their_path() -> None:
    png = "data:image/png;base64," + "A" * 400
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this"},
                    {"type": "image_url", "image_url": {"url": png, "detail": "high"}},
                    {
                        "type": "file",
                        "file": {"file_data": "B" * 300, "filename": "jane_doe_cv.pdf"},
                    },
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                ],
            }
        ],
        "x_blob": "C" * 300,
    }
    w = walk(body)
    assert [(o.where, o.kind) for o in w.opaque] == [
        ("messages[0].content[1]", "image"),
        ("messages[0].content[2]", "file"),
        ("messages[0].content[3]", "audio"),
        ("x_blob", "data"),
    ]
    texts = [leaf.text for leaf in w.leaves]
    assert "jane_doe_cv.pdf" in texts  # the file name still leaves the machine: scanned
    assert png not in texts and "high" not in texts and "wav" not in texts


def test_replace_copies_only_the_changed_path_and_renames_keys() -> None:
    body = {"messages": [{"role": "user", "content": "a"}], "metadata": {"k x": "v"}, "tools": [1]}
    before = copy.deepcopy(body)
    w = walk(body)
    new = {leaf: leaf.text.upper() for leaf in w.leaves}
    out = replace(body, new)
    assert body == before
    assert out == {
        "messages": [{"role": "user", "content": "A"}],
        "metadata": {"K X": "V"},
        "tools": [1],
    }
    assert out["tools"] is body["tools"]
    assert replace(body, {}) is body


def test_skill_style_paths_outside_the_body_are_ignored_by_replace() -> None:
    body = {"messages": [{"role": "user", "content": "a"}]}
    assert replace(body, {Leaf(("$skill", "inputs", "x"), "v"): "w"}) == body


_WORDS = st.text(alphabet="abcdefghij XYZ_", min_size=0, max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _WORDS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(_WORDS.filter(lambda k: k not in STRUCTURAL), children, max_size=4)
    ),
    max_leaves=25,
)


def _plant(node: Any, choice: int) -> tuple[Any, int]:
    """Put MARK into the ``choice``-th string value or key (depth first); returns the rest."""
    if isinstance(node, str):
        return (f"{node} {MARK}" if choice == 0 else node), choice - 1
    if isinstance(node, list):
        out = []
        for v in node:
            v, choice = _plant(v, choice)
            out.append(v)
        return out, choice
    if isinstance(node, dict):
        res: dict[str, Any] = {}
        for k, v in node.items():
            if choice == 0:
                k = f"{k} {MARK}"
            choice -= 1
            v, choice = _plant(v, choice)
            res[k] = v
        return res, choice
    return node, choice


@settings(max_examples=300, deadline=None)
@given(
    body=st.dictionaries(_WORDS.filter(lambda k: k not in STRUCTURAL), _JSON, min_size=1),
    pick=st.integers(0, 60),
)
def test_a_value_planted_anywhere_is_in_a_leaf_and_masking_the_leaves_removes_it(
    body: dict[str, Any], pick: int
) -> None:
    planted, left = _plant(body, pick)
    if left >= 0:
        return  # fewer strings than pick: nothing planted
    w = walk(planted)
    assert any(MARK in leaf.text for leaf in w.leaves)
    masked = replace(planted, {leaf: leaf.text.replace(MARK, "<US_SSN_1>") for leaf in w.leaves})
    assert MARK not in json.dumps(masked)
