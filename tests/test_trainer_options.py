"""``dldl train``'s options come from TrainConfig's fields: each field is an option with its help and default."""
import dataclasses
import subprocess
import sys

import pytest

from dldl_core.cli.main import build_parser, main
from dldl_core.data.augment import AUGMENT_PRESETS, augment_preset
from dldl_core.models.objectives import OBJECTIVES
from dldl_core.training.cli_options import config_from_args
from dldl_core.training.config import TrainConfig

REQUIRED = ["--data", "images", "--manifest", "manifest.csv", "--out", "w.safetensors"]


@pytest.fixture(scope="module")
def train_help() -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["train"]
    return " ".join(sub.format_help().split())  # words joined by single spaces across line breaks


def test_the_help_lists_the_objectives_and_the_augmentation_presets(train_help):
    assert "dldl_v2" in train_help and "KL divergence" in train_help and "lambda x L1" in train_help
    assert "wild_light" in train_help
    for name in (*OBJECTIVES, *AUGMENT_PRESETS):
        assert name in train_help


def test_every_config_field_but_the_template_is_an_option(train_help):
    for field in dataclasses.fields(TrainConfig):
        option = "--" + field.name.replace("_", "-")
        assert (option in train_help) == (field.name != "template"), option
    for flag in ("--no-cache", "--no-progress", "--no-amp", "--resume", "--allow-config-change"):
        assert flag in train_help


def test_the_option_defaults_are_the_config_defaults():
    args = build_parser().parse_args(["train", *REQUIRED])
    assert config_from_args(args) == TrainConfig(data="images", manifest="manifest.csv", out="w.safetensors")
    assert args.resume is False and args.allow_config_change is False


def test_options_build_the_config():
    args = build_parser().parse_args(["train", *REQUIRED, "--arch", "thin", "--augment", "wild_light", "--no-cache",
                                      "--no-progress", "--kl-only-epochs", "3", "--limit", "5", "--lr", "2e-4",
                                      "--no-amp", "--objective", "dldl"])
    assert config_from_args(args) == TrainConfig(
        data="images", manifest="manifest.csv", out="w.safetensors", arch="thin", augment=augment_preset("wild_light"),
        cache=False, progress=False, kl_only_epochs=3, limit=5, lr=2e-4, amp=False, objective="dldl")


@pytest.mark.parametrize("option", [["--objective", "dldl_v3"], ["--augment", "strong"]])
def test_an_unknown_name_is_refused_with_the_known_ones(capsys, option):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["train", *REQUIRED, *option])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "invalid choice" in err and ("dldl_v2" in err or "wild_light" in err)


@pytest.mark.parametrize(("option", "message"), [(["--input-size", "100"], "multiple of 32"),
                                                 (["--out", "w.pt"], ".safetensors")])
def test_the_train_command_checks_its_options(capsys, option, message):
    argv = ["train", "--data", "images", "--manifest", "manifest.csv", "--out", "w.safetensors", *option]
    assert main(argv) == 2 and message in capsys.readouterr().err


def test_declaring_the_options_imports_no_torch():
    code = ("import sys; from dldl_core.cli.main import build_parser; build_parser(); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'torchvision'}))")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr[-1000:]
