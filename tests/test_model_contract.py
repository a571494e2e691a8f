"""The model contracts (``textcls/models/registry.py``; README "How to add a text model").

Every registered text and image model passes the conformance checks of :mod:`textcls.testing` on generated data
(build → train one epoch → save → load → the same predictions), and the checks fail for models that break the
contract. The registry binds options to the builder's signature before building (one-line errors, no parsing of
``TypeError`` text) and finds built-in modules by itself; the CLI lists the registry; ``compare-embeddings
--model bag`` works; and the README's ``tinycnn``, followed literally, trains through ``textcls train``. Nothing
here reads ``../shared/data``.
"""

from __future__ import annotations

import importlib
import inspect
import re
import shlex
import sys
from pathlib import Path

import pytest
import torch
import yaml
from cli_helpers import assert_one_line_error, run_cli
from torch import nn

from textcls.conversion import convert
from textcls.errors import TextclsError
from textcls.image.models.registry import IMAGE_MODELS
from textcls.models import get_model, register_model
from textcls.models.registry import MODELS, build_embedding, split_options
from textcls.registry import Registry
from textcls.testing import TOPICS, check_image_model, check_text_model, write_text_corpus

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT_MODELS = MODELS.names()
IMAGE_MODEL_NAMES = IMAGE_MODELS.names()
IMAGE_OPTIONS = {"resnet50-transfer": {"pretrained": False}}  # its ImageNet weights are a download
IMAGE_SIZES = {"resnet50-transfer": (2, 1)}  # 224×224 inputs: fewer images keep it to seconds

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def temporary_models():
    """Names registered during a test are removed afterwards (other tests list the registry exactly)."""
    before = set(MODELS.names())
    yield
    for name in set(MODELS.names()) - before:
        MODELS.unregister(name)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    return write_text_corpus(tmp_path_factory.mktemp("corpus"))


# --- conformance: every registered model ---------------------------------------------------------------------


def test_the_registries_hold_every_built_in_model():
    assert {"bag", "bilstm", "cnn", "lstm", "multilstm"} <= set(TEXT_MODELS)
    assert len(IMAGE_MODEL_NAMES) == 11 and {"lenet", "resnet", "resnet50-transfer"} <= set(IMAGE_MODEL_NAMES)
    assert (MODELS.package, IMAGE_MODELS.package) == ("textcls.models", "textcls.image.models")  # found, not listed


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_every_text_model_follows_the_contract(name, tmp_path):
    check_text_model(name, tmp_path)


@pytest.mark.parametrize("name", IMAGE_MODEL_NAMES)
def test_every_image_model_follows_the_contract(name, tmp_path):
    check_image_model(name, tmp_path, IMAGE_OPTIONS.get(name), IMAGE_SIZES.get(name, (4, 2)))


# --- the checks catch models that break the contract ---------------------------------------------------------


class _MeanOverTime(nn.Module):
    """Averages over every position, pads included: its logits change with the padding."""

    def __init__(self, embedding, num_outputs: int):
        super().__init__()
        self.embedding = embedding
        self.output = nn.Linear(embedding.dim, num_outputs)

    def forward(self, tokens, lengths):
        return self.output(self.embedding(tokens).mean(dim=1))


class _OneLogit(_MeanOverTime):
    def forward(self, tokens, lengths):
        return super().forward(tokens, lengths)[:, :1]


class _CopiesTheEmbedding(_MeanOverTime):
    def __init__(self, embedding, num_outputs: int):
        super().__init__(embedding, num_outputs)
        self.embedding = nn.Embedding.from_pretrained(embedding.embedding.weight.detach().clone(), freeze=False)
        self.embedding.dim = embedding.dim


class _UnusedLayer(_MeanOverTime):
    def __init__(self, embedding, num_outputs: int):
        super().__init__(embedding, num_outputs)
        self.spare = nn.Linear(2, 2)


class _ForgetsState(nn.Module):
    """Padding-invariant, but learns a shift kept in a non-persistent buffer: it is not saved with the run."""

    def __init__(self, embedding, num_outputs: int):
        super().__init__()
        self.embedding = embedding
        self.output = nn.Linear(embedding.dim, num_outputs)
        self.register_buffer("shift", torch.zeros(num_outputs), persistent=False)

    def forward(self, tokens, lengths):
        real = (torch.arange(tokens.shape[1]) < lengths.unsqueeze(1)).unsqueeze(-1)
        logits = self.output((self.embedding(tokens) * real).sum(dim=1) / lengths.unsqueeze(1))
        if self.training:
            self.shift[0] += 1.0  # a statistic gathered in training, lost when the run is loaded
        return logits + self.shift


@pytest.mark.parametrize(
    ("model", "broken"),
    [
        (_MeanOverTime, "change with the padding"),
        (_OneLogit, "must return float logits [batch, 3]"),
        (_CopiesTheEmbedding, "keep the embedding it is given as self.embedding"),
        (_UnusedLayer, "parameters ['spare.weight', 'spare.bias'] get no gradient"),
        (_ForgetsState, "predicts differently"),
    ],
    ids=["padding", "shape", "own-copy-of-the-embedding", "unused-parameters", "state-not-saved"],
)
def test_check_text_model_names_the_broken_rule(model, broken, tmp_path, temporary_models):
    register_model("broken")(model)
    with pytest.raises(AssertionError, match=re.escape(broken)):
        check_text_model("broken", tmp_path)


# --- the registry: options bound to the signature --------------------------------------------------------------


def _registry_with(builder) -> Registry:
    registry = Registry("thing")
    registry.register("it")(builder)
    return registry


def test_options_are_checked_before_the_builder_runs():
    calls = []

    def build(depth: int = 2, rate: float = 0.5):
        calls.append((depth, rate))
        return depth, rate

    registry = _registry_with(build)
    with pytest.raises(TextclsError, match=r"thing 'it' has no option 'width' \(options of 'it': depth, rate\)"):
        registry.build("it", width=3)
    with pytest.raises(TextclsError, match=r"^model_options.depth must be an integer \(int\), not 'big'$"):
        registry.build("it", depth="big")
    assert calls == []
    assert registry.build("it", depth=3.0, rate="1e-3") == (3, 0.001)  # YAML reads 1e-3 as text


def test_a_type_error_inside_the_builder_is_not_reported_as_an_unknown_option():
    """The old registry parsed ``TypeError`` text, so a bug inside a builder read as a user's unknown option."""

    def build(depth: int = 2):
        raise TypeError("inner() got an unexpected keyword argument 'depth'")

    with pytest.raises(TypeError, match="inner"):
        _registry_with(build).build("it", depth=3)


def test_missing_options_and_value_errors_are_one_line_textcls_errors():
    def build(size: int, rate: float = 0.5):
        if rate > 1:
            raise ValueError("rate must be at most 1\nmore detail")
        return size

    registry = _registry_with(build)
    with pytest.raises(TextclsError, match="thing 'it': missing a required argument: 'size'"):
        registry.build("it")
    with pytest.raises(TextclsError, match=r"^thing 'it' cannot be built with these options: rate must be at most 1$"):
        registry.build("it", size=1, rate=2)


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [(1, float, 1.0), ("1e-3", float, 0.001), (2.0, int, 2), (None, int | None, None), (True, bool, True),
     ("max", str, "max"), ([1, 2], list, [1, 2])],
)  # fmt: skip
def test_values_are_converted_to_simple_annotations(value, annotation, expected):
    converted = convert(value, annotation, "option x")
    assert converted == expected and type(converted) is type(expected)


@pytest.mark.parametrize(("value", "annotation"), [("big", int), (2.5, int), (True, int), ("maybe", bool)])
def test_values_that_do_not_fit_their_annotation_are_refused(value, annotation):
    with pytest.raises(TextclsError, match=f"option x must be .*\\({annotation.__name__}\\)|option x must be true"):
        convert(value, annotation, "option x")


def test_every_module_of_the_registry_package_registers_without_a_list(tmp_path, monkeypatch):
    package = tmp_path / "plugins_12a"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from textcls.registry import Registry\nTHINGS = Registry('thing', __name__)\n"
    )
    for name in ("alpha", "beta"):
        (package / f"{name}.py").write_text(
            f"from plugins_12a import THINGS\n\n\n@THINGS.register({name!r})\ndef build():\n    '''{name}.'''\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        things = importlib.import_module("plugins_12a").THINGS
        assert things.names() == ["alpha", "beta"]  # neither module was imported by hand
    finally:
        for module in [m for m in sys.modules if m.startswith("plugins_12a")]:
            del sys.modules[module]


def test_a_name_registered_by_another_module_is_refused(temporary_models):
    class Lstm(nn.Module):
        """Another "lstm"."""

    with pytest.raises(TextclsError, match="model 'lstm' is already registered by textcls.models.lstm"):
        register_model("lstm")(Lstm)
    register_model("again")(Lstm)
    register_model("again")(Lstm)  # the same module again (a re-import, a notebook cell run twice) replaces it


# --- the text-model contract through get_model -----------------------------------------------------------------


def test_the_shared_embedding_is_built_from_the_embedding_options_and_given_to_the_model():
    vectors = torch.randn(12, 6)
    model = get_model("lstm", num_outputs=2, vectors=vectors, padding_idx=1, fix_rows_from=8, freeze_epochs=2,
                      embedding_dropout=0.25, hidden_size=4)  # fmt: skip
    embedding = model.embedding
    assert embedding.dim == 6 and embedding.freeze_epochs == 2 and embedding.frozen
    assert embedding.dropout.p == 0.25 and model.lstm.input_size == 6
    assert torch.equal(embedding.fixed_rows, vectors[8:]) and embedding.embedding.weight.shape == (8, 6)
    assert torch.equal(embedding.embedding.weight[1], torch.zeros(6))  # the <pad> row


def test_a_model_with_its_own_table_gets_vocab_size_and_refuses_freezing():
    off = {"freeze_embeddings": False, "freeze_epochs": 0}  # the off values are accepted
    bag = get_model("bag", num_outputs=3, vocab_size=20, padding_idx=1, embedding_dim=8, buckets=10, **off)
    assert bag.embedding.weight.shape == (30, 8) and bag.padding_idx == 1
    vectors = torch.randn(20, 5)
    with_vectors = get_model("bag", num_outputs=3, vocab_size=20, padding_idx=1, vectors=vectors, buckets=10)
    assert torch.equal(with_vectors.embedding.weight[2:20], vectors[2:]) and with_vectors.embedding.weight.shape[1] == 5
    for option, value in (("freeze_embeddings", True), ("freeze_epochs", 2), ("embedding_dropout", 0.1)):
        with pytest.raises(TextclsError, match=f"model 'bag' builds its own embedding table, so {option}="):
            get_model("bag", num_outputs=3, vocab_size=20, **{option: value})


@pytest.mark.parametrize(
    ("options", "fragment"),
    [({"embedding_dim": 0}, "embedding_dim must be at least 1"), ({"freeze_epochs": -1}, "freeze_epochs at least 0"),
     ({"embedding_dropout": 1.0}, "embedding_dropout=1.0: give 0 <= p < 1"),
     ({"freeze_embeddings": "maybe"}, "freeze_embeddings must be true or false, not 'maybe'"),
     ({"vocab_size": 9}, "vocab_size is given by textcls")],
)  # fmt: skip
def test_embedding_options_are_checked_like_the_model_s_own(options, fragment):
    with pytest.raises(TextclsError, match=re.escape(fragment)):
        split_options("lstm", options)  # what build_model checks a config's model_options with


def test_a_ready_embedding_is_given_as_is_and_only_to_models_that_take_one(temporary_models):
    embedding = build_embedding(10, padding_idx=1, embedding_dim=4)
    assert get_model("lstm", num_outputs=2, embedding=embedding, hidden_size=3).embedding is embedding
    with pytest.raises(TextclsError, match="give freeze_epochs to the TextEmbedding, not with a ready embedding"):
        get_model("lstm", num_outputs=2, embedding=embedding, freeze_epochs=1)
    with pytest.raises(TextclsError, match="model 'bag' builds its own embedding table; it takes no ready embedding"):
        get_model("bag", num_outputs=2, embedding=embedding)
    with pytest.raises(TextclsError, match="needs vocab_size or vectors"):
        get_model("lstm", num_outputs=2)

    @register_model("neither")
    def neither(num_outputs: int):
        """Takes no embedding and no vocab_size."""

    with pytest.raises(TextclsError, match="model 'neither' takes neither embedding nor vocab_size"):
        get_model("neither", num_outputs=2, vocab_size=10)


def test_bilstm_is_bidirectional_by_definition_and_names_the_model_that_is_not():
    with pytest.raises(TextclsError) as info:
        get_model("bilstm", num_outputs=2, vocab_size=10, bidirectional=False)
    assert "model 'bilstm' has no option 'bidirectional'; 'lstm' takes it" in str(info.value)
    assert get_model("lstm", num_outputs=2, vocab_size=10, bidirectional=True).lstm.bidirectional
    assert inspect.signature(MODELS.builder("multilstm")).parameters["num_layers"].default == 2


# --- the command line ------------------------------------------------------------------------------------------

QUICK = ["--epochs", "1", "--device", "cpu", "--threads", "1", "--batch-size", "16"]


@pytest.mark.parametrize(
    ("flags", "fragments"),
    [
        (["--model", "bilstm", "--set", "model_options.bidirectional=false"],
         ("model 'bilstm' has no option 'bidirectional'; 'lstm' takes it",)),
        (["--model", "lstm", "--set", "model_options.hidden_size=big"],
         ("hidden_size must be an integer (int) or one of auto, not 'big'",)),
        (["--model", "bag", "--freeze-embeddings"], ("'bag' builds its own embedding table", "freeze_embeddings")),
        (["--model", "lstm", "--set", "model_options.num_outputs=3"], ("num_outputs is given by textcls",)),
        (["--model", "lstm", "--set", "model_options.dropout=1.5"], ("dropout probability has to be between 0 and 1",)),
        (["--model", "cnn3"], ("unknown model 'cnn3'", "bag, bilstm, cnn, lstm, multilstm", "--model-module")),
        (["--model-module", "no_such_module_12a", "--model", "lstm"], ("model module 'no_such_module_12a' not found",)),
        (["--model-module", "missing.py", "--model", "lstm"], ("model module not found: missing.py",)),
    ],
    ids=["bilstm-unidirectional", "wrong-type", "bag-frozen", "given-argument", "impossible-value", "unknown-model",
         "unknown-module", "missing-file"],
)  # fmt: skip
def test_model_mistakes_on_the_command_line_are_one_line_errors(flags, fragments, corpus, tmp_path):
    module_flags = flags[:2] if flags[0] == "--model-module" else []
    rest = flags[2:] if module_flags else flags
    status, _, err = run_cli(*module_flags, "train", corpus["train"], *rest, *QUICK, "--output", tmp_path / "run")
    assert_one_line_error(status, err, *fragments)
    assert not (tmp_path / "run").exists()  # the model is built before anything is written


def test_model_module_by_name_registers_its_models_for_every_command(tmp_path, monkeypatch, temporary_models):
    (tmp_path / "mods_12a.py").write_text(
        "from textcls.models.lstm import LSTMClassifier\nfrom textcls.models import register_model\n\n"
        "register_model('wide-lstm')(LSTMClassifier)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        status, out, err = run_cli("--model-module", "mods_12a", "models")
        assert status == 0, err
        assert "wide-lstm  LSTM text classifier." in out.splitlines()
    finally:
        sys.modules.pop("mods_12a", None)


def test_compare_embeddings_with_bag_trains_every_choice_it_can_take(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTCLS_CACHE_DIR", str(tmp_path / "cache"))
    generator = torch.Generator().manual_seed(0)
    words = sorted({word for keywords in TOPICS.values() for word in keywords})
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("".join(f"{w} " + " ".join(f"{v:.4f}" for v in torch.randn(8, generator=generator)) + "\n"
                               for w in words))  # fmt: skip
    output = tmp_path / "compare"
    common = [corpus["train"], "--valid", corpus["valid"], "--test", corpus["test"], "--model", "bag", "--seeds", "1",
              *QUICK, "--output", output]  # fmt: skip
    choices = ["random", f"glove:{vectors}", "word2vec"]
    status, out, err = run_cli("compare-embeddings", *common, "--embeddings", ",".join(choices))
    assert status == 0, err
    summary = yaml.safe_load((output / "comparison.yaml").read_text())
    assert summary["embeddings"] == choices and summary["embedding_dim"] == 8
    assert len(list((output / "runs").iterdir())) == 3 and "| random |" in out and "| word2vec |" in out

    for frozen in (f"glove-frozen:{vectors}", f"glove-thaw:{vectors}:1"):
        refused = tmp_path / "refused"
        status, _, err = run_cli("compare-embeddings", *common[:-1], refused, "--embeddings", f"random,{frozen}")
        assert_one_line_error(status, err, f"--embeddings {frozen}", "'bag' builds its own embedding table")
        assert not (refused / "runs").exists()  # refused before the first run trained


# --- the README's "How to add a text model", followed literally ---------------------------------------------


def _readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("## How to add a text model", 1)[1].split("\n## ", 1)[0]


def _readme_files(section: str) -> dict[str, str]:
    """The section's Python blocks that start with ``# file: NAME``, by name."""
    blocks = re.findall(r"```python\n# file: (\S+)\n(.*?)```", section, flags=re.S)
    return {name: f"# file: {name}\n{code}" for name, code in blocks}


def test_the_readme_tinycnn_trains_through_textcls_train(tmp_path, monkeypatch, temporary_models):
    section = _readme_section()
    files = _readme_files(section)
    assert sorted(files) == ["test_tinycnn.py", "tinycnn.py"]
    for name, code in files.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    write_text_corpus(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (commands,) = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    outputs = []
    try:
        for line in commands.strip().splitlines():
            argv = shlex.split(line)
            if argv == ["pytest", "test_tinycnn.py"]:
                _run_test_module("test_tinycnn", tmp_path / "pytest")
                continue
            assert argv[0] == "textcls", line  # every line of the block is run here
            status, out, err = run_cli(*argv[1:])
            assert status == 0, err
            outputs.append(out)
        assert "tinycnn    One convolution over the embedded tokens" in outputs[0]
        assert outputs[2].split()[0] == "sports"  # "the striker scored a late goal": the top label
        saved = yaml.safe_load((tmp_path / "runs/tinycnn/config.yaml").read_text())
        assert saved["model"] == "tinycnn" and saved["model_options"] == {"channels": 64}  # no configs/tinycnn.yaml

        status, _, err = run_cli("--model-module", "tinycnn.py", "train", "train.csv", "--model", "tinycnn",
                                 "--set", "model_options.kernel_size=4", *QUICK)  # fmt: skip
        assert_one_line_error(status, err, "model 'tinycnn' cannot be built", "kernel_size must be odd, got 4")
        MODELS.unregister("tinycnn")  # a fresh process: the run directory alone does not import the module
        status, _, err = run_cli("predict", "runs/tinycnn", "some text")
        assert_one_line_error(status, err, "unknown model 'tinycnn'", "--model-module")
    finally:
        for module in ("tinycnn", "test_tinycnn"):
            sys.modules.pop(module, None)


def _run_test_module(name: str, tmp_path: Path) -> None:
    """Run the module's ``test_*`` functions as pytest would (each with a fresh ``tmp_path``)."""
    module = importlib.import_module(name)
    tests = [(n, f) for n, f in vars(module).items() if n.startswith("test_") and callable(f)]
    assert tests
    for test_name, test in tests:
        folder = tmp_path / test_name
        folder.mkdir(parents=True)
        test(folder)
