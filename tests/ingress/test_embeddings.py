"""The embeddings parser: OpenAI's request shape checked, the field named when it is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from openclaw.errors import InvalidRequest
from openclaw.ingress import embedding_texts, has_token_input, parse_embeddings_request
from openclaw.ingress.common import check_alias_kind
from openclaw.ingress.embeddings import MAX_INPUTS


@pytest.mark.parametrize(
    "value",
    ["one text", ["a", "b"], [1, 2, 3], [[1, 2], [3]]],
    ids=["string", "strings", "tokens", "token-arrays"],
)
def test_every_input_form_openai_takes_is_accepted_unchanged(value: Any) -> None:
    body = {"model": "embed", "input": value, "encoding_format": "base64", "dimensions": 256}
    assert parse_embeddings_request(body) is body


def test_texts_are_what_the_pii_policy_reads() -> None:
    assert embedding_texts({"input": "a"}) == ["a"]
    assert embedding_texts({"input": ["a", "b"]}) == ["a", "b"]
    assert embedding_texts({"input": [[1, 2]]}) == []
    assert has_token_input({"input": [1, 2]}) and has_token_input({"input": [[1]]})
    assert not has_token_input({"input": ["a"]}) and not has_token_input({"input": "a"})


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": "e"}, "input"),
        ({"model": "e", "input": []}, "input"),
        ({"model": "e", "input": ["a", 1]}, "input"),
        ({"model": "e", "input": [True, False]}, "input"),
        ({"model": "e", "input": [[]]}, "input"),
        ({"model": "e", "input": ["a"] * (MAX_INPUTS + 1)}, "input"),
        ({"model": "e", "input": "a", "encoding_format": "int8"}, "encoding_format"),
        ({"model": "e", "input": "a", "dimensions": 0}, "dimensions"),
        ({"model": "e", "input": "a", "user": 7}, "user"),
    ],
)
def test_malformed_bodies_are_400s_naming_the_field(body: Any, param: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_embeddings_request(body)
    assert info.value.param == param and info.value.status == 400


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        parse_embeddings_request(["not", "an", "object"])


def test_aliases_of_the_wrong_kind_are_400s_that_say_which_kind_fits() -> None:
    check_alias_kind("embed", "embedding", "embeddings")
    for api in ("chat", "messages", "responses"):
        check_alias_kind("general", "chat", api)
        with pytest.raises(InvalidRequest) as info:
            check_alias_kind("embed", "embedding", api)
        assert "embedding model" in info.value.message and info.value.code == "wrong_model_kind"
    with pytest.raises(InvalidRequest) as info:
        check_alias_kind("general", "chat", "embeddings")
    assert "kind: embedding" in info.value.message and info.value.param == "model"
