"""The image models (``textcls.image.models``): shapes, parameter counts, a training step, transfer learning.

Parameter counts are recomputed here from each model's documented layout with the small helpers below, so a
layer added, dropped or resized shows up as a count mismatch. ``resnet50-transfer`` is built without weights
(no download, ever) except in the tests that place a fake checkpoint in a temporary hub directory.
"""

from __future__ import annotations

import math
import socket
from urllib.error import URLError

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from textcls.errors import TextclsError
from textcls.image.models import (
    AdaptiveConcatPool2d,
    available_models,
    first_children,
    get_model,
    layers_of_type,
    reinit_weights,
)
from textcls.image.models.classic import VGG_CONFIGS, Inception

pytestmark = pytest.mark.usefixtures("one_torch_thread")

NAMES = [
    "alexnet",
    "cifar-cnn",
    "fashion-mlp",
    "googlenet",
    "lenet",
    "mnist-cnn",
    "mnist-convnet",
    "resnet",
    "resnet50-transfer",
    "simple-cnn",
    "vgg",
]
RESNET50_PARAMS = 25_557_032  # torchvision's documented num_params for resnet50
RESNET50_BACKBONE = RESNET50_PARAMS - (2048 * 1000 + 1000)  # without its 2048 → 1000 fc: 23,508,032
SMALL_224 = (3, 64, 64)  # resnet50-transfer pools adaptively, so tests feed it small images (faster)


def conv(cin: int, cout: int, k: int, bias: bool = True) -> int:
    return cin * cout * k * k + (cout if bias else 0)


def linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def bn(channels: int) -> int:
    return 2 * channels  # weight and bias (running stats are buffers)


def conv_bn(cin: int, cout: int, k: int) -> int:
    return conv(cin, cout, k, bias=False) + bn(cout)


def vgg_params(layout: list, nc: int) -> int:
    total, cin = 0, 3
    for value in layout:
        if value != "M":
            total += conv_bn(cin, value, 3)
            cin = value
    return total + linear(cin, 512) + linear(512, nc)


def inception_params(cin: int, c1: int, c3: tuple, c5: tuple, pool: int) -> int:
    return (
        conv_bn(cin, c1, 1)
        + conv_bn(cin, c3[0], 1)
        + conv_bn(c3[0], c3[1], 3)
        + conv_bn(cin, c5[0], 1)
        + conv_bn(c5[0], c5[1], 5)
        + conv_bn(cin, pool, 1)
    )


def googlenet_params(nc: int) -> int:
    blocks = [
        (64, 32, (48, 64), (8, 16), 16),  # → 128
        (128, 64, (64, 96), (16, 48), 32),  # → 240
        (240, 96, (48, 104), (8, 24), 32),  # → 256
        (256, 128, (80, 160), (16, 64), 64),  # → 416
        (416, 192, (96, 192), (24, 64), 64),  # → 512
    ]
    return conv_bn(3, 64, 3) + sum(inception_params(*b) for b in blocks) + linear(512, nc)


def resnet_params(blocks: tuple, nc: int, width: int = 64) -> int:
    total, cin = conv_bn(3, width, 3), width
    for i, count in enumerate(blocks):
        cout = width * 2**i
        for j in range(count):
            block_in = cin if j == 0 else cout
            total += conv_bn(block_in, cout, 3) + conv_bn(cout, cout, 3)
            if j == 0 and (i > 0 or block_in != cout):  # stride 2 or new width: 1×1 conv + BN shortcut
                total += conv_bn(block_in, cout, 1)
        cin = cout
    return total + linear(cin, nc)


def transfer_head_params(nc: int) -> int:
    return bn(4096) + linear(4096, 512) + bn(512) + linear(512, nc)


EXPECTED_PARAMS = {
    "fashion-mlp": lambda nc: linear(784, 256) + linear(256, 128) + linear(128, nc),
    "cifar-cnn": lambda nc: (
        conv(3, 16, 3) + conv(16, 32, 3) + conv(32, 64, 3) + linear(64 * 4 * 4, 512) + linear(512, nc)
    ),
    "mnist-convnet": lambda nc: (
        conv(1, 32, 3)
        + bn(32)
        + conv(32, 64, 3)
        + bn(64)
        + linear(64 * 7 * 7, 512)
        + bn(512)
        + linear(512, 512)
        + bn(512)
        + linear(512, nc)
    ),
    "lenet": lambda nc: conv(1, 6, 5) + conv(6, 16, 5) + linear(16 * 5 * 5, 120) + linear(120, 84) + linear(84, nc),
    "mnist-cnn": lambda nc: conv(1, 16, 5) + conv(16, 32, 5) + linear(32 * 7 * 7, nc),
    "simple-cnn": lambda nc: conv(3, 32, 3) + conv(32, 64, 3) + linear(64 * 8 * 8, 128) + linear(128, nc),
    "alexnet": lambda nc: (
        conv(3, 64, 3)
        + conv(64, 192, 3)
        + conv(192, 384, 3)
        + conv(384, 256, 3)
        + conv(256, 256, 3)
        + linear(256 * 2 * 2, 1024)
        + linear(1024, 1024)
        + linear(1024, nc)
    ),
    "vgg": lambda nc: vgg_params(
        [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
        nc,  # vgg11, the default
    ),
    "googlenet": googlenet_params,
    "resnet": lambda nc: resnet_params((2, 2, 2, 2), nc),
    "resnet50-transfer": lambda nc: RESNET50_BACKBONE + transfer_head_params(nc),
}


def build(name: str, num_classes: int = 10, **options) -> nn.Module:
    torch.manual_seed(0)
    if name == "resnet50-transfer":
        options.setdefault("pretrained", False)
    return get_model(name, num_classes=num_classes, **options)


def count(params) -> int:
    return sum(p.numel() for p in params)


def batch(shape: tuple[int, ...], size: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(size, *shape, generator=torch.Generator().manual_seed(seed))


def test_registry_lists_every_model_with_a_summary():
    models = available_models()
    assert sorted(models) == NAMES
    for name, summary in models.items():
        assert summary and "\n" not in summary, name


def test_models_have_the_published_parameter_counts():
    """Figures published outside this project, not recomputed here: fashion-mlp's 235,146 in the course brief,
    ResNet-18 for CIFAR-10's 11,173,962, and ResNet-50 without its 1000-class ImageNet layer (23,508,032)."""
    assert count(build("fashion-mlp").parameters()) == 235_146
    assert count(build("resnet").parameters()) == 11_173_962
    assert count(build("resnet50-transfer", 2).backbone_parameters()) == 23_508_032


@pytest.mark.parametrize(
    "name, num_classes",
    [(name, 10) for name in NAMES]
    + [(name, 7) for name in ("fashion-mlp", "mnist-convnet", "vgg", "resnet50-transfer")],
)
def test_logits_shape_and_parameter_count(name, num_classes):
    model = build(name, num_classes).eval()
    shape = model.input_shape
    assert len(shape) == 3 and all(isinstance(v, int) and v > 0 for v in shape)
    with torch.no_grad():
        out = model(batch(shape))
    assert out.shape == (2, num_classes)
    assert count(model.parameters()) == EXPECTED_PARAMS[name](num_classes)


@pytest.mark.parametrize("name", NAMES)
def test_docstring_names_the_input_size_and_options(name):
    model = build(name)
    doc = type(model).__doc__
    channels, height, width = model.input_shape
    assert f"{height}×{width}" in doc and "Args:" in doc and "num_classes" in doc


@pytest.mark.parametrize("name", NAMES)
def test_one_sgd_step_changes_the_parameters(name):
    model = build(name).train()
    shape = SMALL_224 if name == "resnet50-transfer" else model.input_shape
    x = batch(shape)
    y = torch.tensor([1, 3])
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = F.cross_entropy(model(x), y)
    assert torch.isfinite(loss)
    loss.backward()
    optimizer.step()
    changed = [not torch.equal(b, p) for b, p in zip(before, model.parameters())]
    assert all(changed), f"only {sum(changed)} of {len(changed)} parameter tensors changed"


@pytest.mark.parametrize("name", ["alexnet", "vgg", "googlenet", "resnet"])
def test_adaptive_pooling_makes_the_head_size_independent(name):
    model = build(name, 5).eval()
    with torch.no_grad():
        assert model(batch((3, 64, 64))).shape == (2, 5)


# --- course models --------------------------------------------------------------------------------------------


def test_fashion_mlp_output_variants_share_the_logits():
    x = batch((1, 28, 28))
    logits = build("fashion-mlp")(x)
    log_probs = build("fashion-mlp", output="log_softmax")(x)
    probs = build("fashion-mlp", output="softmax")(x)
    torch.testing.assert_close(log_probs, F.log_softmax(logits, dim=1))
    torch.testing.assert_close(probs, F.softmax(logits, dim=1))
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(2))
    with pytest.raises(TextclsError, match="logits, log_softmax, softmax"):
        build("fashion-mlp", output="probabilities")


def test_mnist_convnet_flattens_3136_features_into_512_512_classes():
    model = build("mnist-convnet").eval()
    assert model.features(batch((1, 28, 28))).flatten(1).shape == (2, 3136)
    linears = [(m.in_features, m.out_features) for m in model.classifier if isinstance(m, nn.Linear)]
    assert linears == [(3136, 512), (512, 512), (512, 10)]
    assert [m.num_features for m in model.classifier if isinstance(m, nn.BatchNorm1d)] == [512, 512]


def test_lenet_is_xavier_initialised_with_zero_biases():
    model = build("lenet")
    for name, layer in layers_of_type(model, (nn.Conv2d, nn.Linear)):
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(layer.weight)
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert layer.weight.abs().max() <= bound, name
        assert torch.count_nonzero(layer.bias) == 0, name
    assert sum(isinstance(m, nn.Sigmoid) for m in model.modules()) == 4


def test_simple_cnn_takes_greyscale_with_in_channels():
    model = build("simple-cnn", in_channels=1).eval()
    assert model.input_shape == (1, 32, 32)
    assert model(batch((1, 32, 32))).shape == (2, 10)
    assert count(model.parameters()) == conv(1, 32, 3) + conv(32, 64, 3) + linear(4096, 128) + linear(128, 10)


# --- classic models -------------------------------------------------------------------------------------------


def test_vgg_configs():
    assert count(build("vgg", config="vgg16").parameters()) == vgg_params(VGG_CONFIGS["vgg16"], 10)
    custom = [16, "M", 32, "M"]
    model = build("vgg", 4, config=custom).eval()
    assert count(model.parameters()) == vgg_params(custom, 4)
    assert model(batch((3, 32, 32))).shape == (2, 4)
    with pytest.raises(TextclsError, match="vgg11, vgg13, vgg16, vgg19"):
        build("vgg", config="vgg12")
    with pytest.raises(TextclsError, match="positive integers"):
        build("vgg", config=["M", 0])


def test_inception_concatenates_its_four_branches_at_the_input_size():
    block = Inception(8, 4, (3, 5), (2, 6), 7).eval()
    out = block(batch((8, 9, 9)))
    assert out.shape == (2, 4 + 5 + 6 + 7, 9, 9) and block.out_channels == 22


def test_resnet_shortcuts_have_batchnorm_only_where_shape_changes():
    model = build("resnet")
    first, *rest = [block for stage in model.stages for block in stage]
    assert isinstance(first.shortcut, nn.Identity)  # 64 → 64, stride 1
    projections = [b.shortcut for b in rest if not isinstance(b.shortcut, nn.Identity)]
    assert len(projections) == 3  # the first block of stages 2-4
    for shortcut in projections:
        assert isinstance(shortcut[0], nn.Conv2d) and shortcut[0].kernel_size == (1, 1)
        assert shortcut[0].stride == (2, 2) and isinstance(shortcut[1], nn.BatchNorm2d)


def test_resnet_blocks_option():
    model = build("resnet", 10, blocks=(1, 1, 1), width=16).eval()
    assert count(model.parameters()) == resnet_params((1, 1, 1), 10, width=16)
    assert model(batch((3, 32, 32))).shape == (2, 10)
    with pytest.raises(TextclsError, match="positive integers"):
        build("resnet", blocks=(2, 0))


def test_resnet_block_output_is_non_negative_after_the_single_relu():
    block = build("resnet").stages[1][0].eval()
    out = block(batch((64, 8, 8)))
    assert out.shape == (2, 128, 4, 4) and out.min() >= 0


# --- resnet50-transfer ----------------------------------------------------------------------------------------


def test_transfer_model_structure():
    model = build("resnet50-transfer")
    assert isinstance(model.avgpool, AdaptiveConcatPool2d)
    assert [type(m) for m in model.fc] == [
        nn.Flatten,
        nn.BatchNorm1d,
        nn.Dropout,
        nn.Linear,
        nn.ReLU,
        nn.BatchNorm1d,
        nn.Dropout,
        nn.Linear,
    ]
    assert count(model.backbone_parameters()) == RESNET50_BACKBONE
    assert count(model.head_parameters()) == transfer_head_params(10)
    assert model.input_shape == (3, 224, 224)


def backward_once(model: nn.Module) -> None:
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(batch(SMALL_224)), torch.tensor([0, 1])).backward()


def test_freeze_trains_the_head_only_and_unfreeze_everything():
    model = build("resnet50-transfer")
    model.freeze().train()
    backward_once(model)
    assert all(p.grad is not None for p in model.head_parameters())
    assert all(p.grad is None for p in model.backbone_parameters())
    assert not model.bn1.training and not model.layer4[2].bn3.training  # backbone BatchNorm stays in eval
    assert model.fc[1].training

    model.unfreeze()
    backward_once(model)
    assert all(p.grad is not None for p in model.parameters())
    assert model.bn1.training


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """torch's hub directory pointed at an empty folder, and any network attempt made a test failure."""
    hub = tmp_path / "hub"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", str(hub))  # what torch.hub.set_dir sets; restored afterwards

    def no_network(*args, **kwargs):
        raise AssertionError("the network was touched")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return hub


def weights_file(name: str = "IMAGENET1K_V2") -> str:
    from torchvision.models import ResNet50_Weights

    return ResNet50_Weights[name].url.rsplit("/", 1)[-1]


def test_missing_pretrained_weights_name_the_file_and_the_folder(empty_hub):
    with pytest.raises(TextclsError) as caught:
        get_model("resnet50-transfer", pretrained=True)
    message = str(caught.value)
    assert "\n" not in message
    assert weights_file() in message and str(empty_hub / "checkpoints") in message and "pretrained=False" in message


def test_a_failed_download_becomes_one_line(empty_hub, monkeypatch):
    def offline(*args, **kwargs):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(TextclsError, match="could not download") as caught:
        get_model("resnet50-transfer", pretrained=True, download=True)
    assert "\n" not in str(caught.value) and weights_file() in str(caught.value)


def test_pretrained_weights_load_from_the_hub_cache(empty_hub):
    from torchvision.models import resnet50

    torch.manual_seed(1)
    reference = resnet50(weights=None).state_dict()
    (empty_hub / "checkpoints").mkdir(parents=True)
    torch.save(reference, empty_hub / "checkpoints" / weights_file("IMAGENET1K_V1"))
    model = get_model("resnet50-transfer", pretrained=True, weights="IMAGENET1K_V1")
    torch.testing.assert_close(model.conv1.weight, reference["conv1.weight"])
    torch.testing.assert_close(model.layer4[2].bn3.running_var, reference["layer4.2.bn3.running_var"])


def test_unreadable_or_unknown_weights_are_textcls_errors(empty_hub):
    (empty_hub / "checkpoints").mkdir(parents=True)
    (empty_hub / "checkpoints" / weights_file()).write_bytes(b"not a checkpoint")
    with pytest.raises(TextclsError, match="cannot read") as caught:
        get_model("resnet50-transfer", pretrained=True)
    assert "\n" not in str(caught.value)
    with pytest.raises(TextclsError, match="IMAGENET1K_V1"):
        get_model("resnet50-transfer", pretrained=True, weights="IMAGENET22K")


# --- layer helpers --------------------------------------------------------------------------------------------


def test_adaptive_concat_pool_puts_max_before_mean():
    x = batch((4, 5, 5))
    out = AdaptiveConcatPool2d()(x)
    assert out.shape == (2, 8, 1, 1)
    torch.testing.assert_close(out[:, :4, 0, 0], x.amax(dim=(2, 3)))
    torch.testing.assert_close(out[:, 4:, 0, 0], x.mean(dim=(2, 3)))


def test_first_children():
    model = build("mnist-cnn")
    head = first_children(model, 2)
    assert isinstance(head, nn.Sequential) and list(head) == [model.conv1, model.conv2]
    assert head(batch((1, 28, 28))).shape == (2, 32, 7, 7)
    assert list(first_children(model, -1)) == [model.conv1, model.conv2]
    with pytest.raises(TextclsError, match="3 children"):
        first_children(model, 4)


def test_layers_of_type_finds_the_two_convs_of_mnist_cnn():
    model = build("mnist-cnn")
    convs = layers_of_type(model)
    assert [name for name, _ in convs] == ["conv1.0", "conv2.0"]
    assert all(isinstance(m, nn.Conv2d) for _, m in convs)
    assert [name for name, _ in layers_of_type(model, nn.Linear)] == ["out"]


@pytest.mark.parametrize("scheme", ["xavier", "kaiming", "normal"])
def test_reinit_weights_changes_weights_and_zeroes_biases(scheme):
    model = build("mnist-cnn")
    before = {name: m.weight.detach().clone() for name, m in layers_of_type(model, (nn.Conv2d, nn.Linear))}
    assert reinit_weights(model, scheme) is model
    for name, layer in layers_of_type(model, (nn.Conv2d, nn.Linear)):
        assert not torch.equal(layer.weight, before[name]), name
        assert torch.count_nonzero(layer.bias) == 0, name


def test_reinit_weights_by_type_and_unknown_scheme():
    model = build("mnist-cnn")
    linear_before = model.out.weight.detach().clone()
    reinit_weights(model, "kaiming", types=nn.Conv2d)
    assert torch.equal(model.out.weight, linear_before)
    with pytest.raises(TextclsError, match="xavier, kaiming, normal"):
        reinit_weights(model, "orthogonal")


# --- registry errors ------------------------------------------------------------------------------------------


def test_unknown_model_lists_the_names():
    with pytest.raises(TextclsError, match="unknown image model 'lenet5'") as caught:
        get_model("lenet5")
    assert all(name in str(caught.value) for name in NAMES)


def test_unknown_option_and_bad_num_classes():
    with pytest.raises(TextclsError, match="'mnist-cnn' has no option 'dropout'"):
        get_model("mnist-cnn", dropout=0.2)
    with pytest.raises(TextclsError, match="num_classes"):
        get_model("lenet", num_classes=0)
