"""Legacy ``Example`` constructors not covered elsewhere: ``fromtree`` (SST-style parse trees, as NLTK read them) and
``fromCSV`` with ``field_to_index`` (how legacy read a csv row through a header)."""

import pytest

from textcls.data import Example, Field, LabelField, RawField

TREE = "(3 (2 It) (4 (4 (2 's) (4 lovely)) (2 .)))"


def test_fromtree_joins_the_leaves_and_reads_the_root_label():
    fields = [("text", Field()), ("label", LabelField())]
    example = Example.fromtree(TREE, fields)
    assert vars(example) == {"text": ["It", "'s", "lovely", "."], "label": "3"}


def test_fromtree_subtrees_gives_one_example_per_subtree_whole_tree_first():
    examples = Example.fromtree(TREE, [("text", RawField()), ("label", RawField())], subtrees=True)
    assert [(ex.text, ex.label) for ex in examples] == [
        ("It 's lovely .", "3"),
        ("It", "2"),
        ("'s lovely .", "4"),
        ("'s lovely", "4"),
        ("'s", "2"),
        ("lovely", "4"),
        (".", "2"),
    ]


def test_fromcsv_by_position_and_by_header_index():
    text, label = Field(), LabelField()
    row = ["7", "good film", "pos"]
    by_position = Example.fromCSV(row, [("id", None), ("text", text), ("label", label)])
    by_index = Example.fromCSV(row, {"text": ("text", text), "label": ("label", label)}, {"text": 1, "label": 2})
    assert vars(by_position) == vars(by_index) == {"text": ["good", "film"], "label": "pos"}
    with pytest.raises(ValueError, match="'title'"):
        Example.fromCSV(row, {"title": ("title", text)}, {"text": 1})


@pytest.mark.parametrize("text,fragment", [("(3 (2 It)", "unclosed"), ("3 It", "outside brackets")])
def test_fromtree_malformed_tree_is_a_value_error(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        Example.fromtree(text, [("text", RawField()), ("label", RawField())])
