"""Pipeline: legacy torchtext ``data.Pipeline`` (element-wise steps, extra arguments, composition, checks)."""

import pickle

import pytest

from textcls.data import Field, Pipeline
from textcls.data.fields import FieldPicklingError
from textcls.errors import ArgumentError


def repeat(x, n=3):
    return x * n


def test_identity_pipeline_returns_values_and_lists_unchanged():
    identity = Pipeline()
    assert identity("Test STring") == "Test STring"
    assert identity("ᑌᑎIᑕOᗪᕮ_Tᕮ᙭T") == "ᑌᑎIᑕOᗪᕮ_Tᕮ᙭T"
    assert identity(["1241", "Some String"]) == ["1241", "Some String"]
    assert identity.convert_token is Pipeline.identity


def test_a_list_is_mapped_element_wise():
    lower = Pipeline(str.lower)
    assert lower("Test STring") == "test string"
    assert lower("ᑌᑎIᑕOᗪᕮ_Tᕮ᙭T") == "ᑌᑎiᑕoᗪᕮ_tᕮ᙭t"
    assert lower(["1241", "Some String"]) == ["1241", "some string"]


def test_only_lists_are_mapped_other_sequences_are_one_value():
    assert Pipeline(len)(["abc", "de"]) == [3, 2]
    assert Pipeline(len)(("abc", "de")) == 2


def test_extra_arguments_go_to_the_function():
    pipeline = Pipeline(repeat)
    assert pipeline("test", 5) == "testtesttesttesttest"
    assert pipeline(["ele1", "ele2"], 2) == ["ele1ele1", "ele2ele2"]


def test_call_applies_only_the_own_step():
    pipeline = Pipeline(repeat).add_before(str.lower)
    assert pipeline("Ab") == "ababab"
    assert pipeline.call("Ab") == "AbAbAb"


def test_add_before_and_add_after_compose_in_order_and_return_self():
    pipeline = Pipeline(repeat)
    assert pipeline.add_before(Pipeline()) is pipeline
    assert pipeline.add_after(Pipeline()) is pipeline
    pipeline.add_before(str.lower)  # plain callables become pipelines
    pipeline.add_after(str.capitalize)
    assert pipeline("teST") == "Testtesttest"
    assert pipeline(["ElE1", "eLe2"]) == ["Ele1ele1ele1", "Ele2ele2ele2"]


def test_composition_copies_the_steps_of_the_other_pipeline():
    inner = Pipeline(repeat).add_before(str.lower)
    outer = Pipeline(str.swapcase).add_before(inner)
    inner.add_after(str.capitalize)  # changes inner only: outer copied inner's steps when composed
    assert inner("teST") == "Testtesttest"
    assert outer("teST") == "TESTTESTTEST"
    assert outer(["ElE1", "eLe2"]) == ["ELE1ELE1ELE1", "ELE2ELE2ELE2"]


@pytest.mark.parametrize("build", [lambda: Pipeline("Not Callable"), lambda: Pipeline().add_after(3)])
def test_a_non_callable_step_is_a_value_error(build):
    with pytest.raises(ArgumentError, match="not None or callable") as info:
        build()
    assert isinstance(info.value, ValueError)  # legacy raised ValueError


def test_pipelines_with_the_same_steps_are_equal():
    assert Pipeline(str.lower) == Pipeline(str.lower)
    assert Pipeline(str.lower) != Pipeline(str.upper)
    assert Pipeline(str.lower).add_after(str.strip) != Pipeline(str.lower)
    assert hash(Pipeline(str.lower)) == hash(Pipeline(str.lower))


def test_pipeline_pickles_with_module_level_functions():
    pipeline = Pipeline(repeat).add_before(str.lower).add_after(Pipeline())
    loaded = pickle.loads(pickle.dumps(pipeline))
    assert loaded == pipeline and loaded("Ab") == "ababab"


def test_pipeline_of_a_lambda_cannot_pickle_and_says_so():
    with pytest.raises(FieldPicklingError, match="lambda") as info:
        pickle.dumps(Pipeline(str.lower).add_after(lambda s: s + "!"))
    assert isinstance(info.value, pickle.PicklingError)


def test_field_applies_its_pipeline_after_tokenizing_and_lowering():
    exclaim = Pipeline(repeat)
    assert Field(preprocessing=exclaim, lower=True).preprocess("Ab c") == ["ababab", "ccc"]
    assert Field(sequential=False, preprocessing=exclaim, lower=True).preprocess("Ab c") == "ab cab cab c"
