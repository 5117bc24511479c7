"""Weight soups: the mean of fine-tuned networks, its recipe, and ``dldl soup``'s refusals."""
import json

import pytest
import torch

from dldl_core.cli.main import main
from dldl_core.models.networks import create_model
from dldl_core.models.preprocess import Preprocess
from dldl_core.models.weights import load_weights, save_weights
from dldl_core.training.soup import average_state_dicts, make_soup, soup_recipe


def _network(folder, name, seed, input_size=64, lr=1e-4):
    torch.manual_seed(seed)
    model = create_model("tiny", max_age=116, num_bins=117)
    with torch.no_grad():  # BatchNorm's running statistics differ between the networks too
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
    recipe = {"arch": "tiny", "input_size": input_size, "lr": lr, "seed": seed, "init": f"/somewhere/start{seed}.x",
              "out": f"/tmp/{name}", "data": "/data/images"}
    return save_weights(model, folder / f"{name}.safetensors", Preprocess(input_size=input_size), "dldl_v2",
                        {"recipe": recipe})


def test_the_mean_of_state_dicts_averages_floats_and_keeps_the_first_counter():
    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(5)}
    b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(9)}
    mean = average_state_dicts([a, b])
    assert torch.equal(mean["w"], torch.tensor([2.0, 4.0])) and mean["w"].dtype == torch.float32
    assert int(mean["n"]) == 5
    with pytest.raises(ValueError, match="not one architecture"):
        average_state_dicts([a, {"w": torch.zeros(3), "n": torch.tensor(1)}])
    with pytest.raises(ValueError):
        average_state_dicts([])


def test_the_recipe_keeps_shared_options_and_lists_what_each_network_did_differently():
    recipes = [{"arch": "thin", "lr": 1e-4, "seed": 1, "init": "/a/b/start.safetensors", "out": "/tmp/x"},
               {"arch": "thin", "lr": 2e-4, "seed": 2, "init": "/c/start.safetensors", "out": "/tmp/y"}]
    recipe = soup_recipe(recipes, ["x.safetensors", "y.safetensors"], ["1" * 64, "2" * 64])
    assert recipe["arch"] == "thin" and recipe["init"] == "start.safetensors" and "lr" not in recipe
    assert recipe["soup"] == [{"file": "x.safetensors", "sha256": "1" * 64, "lr": 1e-4, "seed": 1},
                              {"file": "y.safetensors", "sha256": "2" * 64, "lr": 2e-4, "seed": 2}]
    assert "out" not in json.dumps(recipe)  # where a run wrote its files says nothing about the soup


def test_a_soup_holds_the_mean_of_its_networks_and_names_them(tmp_path):
    paths = [_network(tmp_path, f"n{i}", seed=i, lr=1e-4 * i) for i in (1, 2, 3)]
    out = make_soup(paths, tmp_path / "soup.safetensors")
    soup, parts = load_weights(out), [load_weights(p) for p in paths]
    for key, value in soup.model.state_dict().items():
        if value.is_floating_point():
            expected = sum(p.model.state_dict()[key] for p in parts) / 3
            torch.testing.assert_close(value, expected, rtol=0, atol=1e-6)
    ingredients = soup.meta["recipe"]["soup"]
    assert [i["file"] for i in ingredients] == ["n1.safetensors", "n2.safetensors", "n3.safetensors"]
    assert [i["seed"] for i in ingredients] == [1, 2, 3] and soup.meta["recipe"]["input_size"] == 64
    assert ingredients[0]["sha256"] == parts[0].meta["sha256"]
    x = torch.randn(2, 3, 64, 64)
    assert not torch.allclose(soup.model(x), parts[0].model(x))  # the mean is a network of its own


def test_a_soup_of_one_network_twice_predicts_as_that_network(tmp_path):
    path = _network(tmp_path, "one", seed=4)
    copy = tmp_path / "copy.safetensors"
    copy.write_bytes(path.read_bytes())
    copy.with_suffix(".json").write_text(path.with_suffix(".json").read_text())
    soup = load_weights(make_soup([path, copy], tmp_path / "soup.safetensors"))
    x = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(soup.model(x), load_weights(path).model(x), rtol=0, atol=1e-6)


def test_dldl_soup_writes_the_soup_and_refuses_what_cannot_be_averaged_in_one_line(tmp_path, capsys):
    a, b = _network(tmp_path, "a", seed=1), _network(tmp_path, "b", seed=2)
    out = tmp_path / "soup.safetensors"
    assert main(["soup", str(a), str(b), "--out", str(out)]) == 0
    assert out.is_file() and load_weights(out).meta["recipe"]["soup"][1]["file"] == "b.safetensors"
    capsys.readouterr()
    other = _network(tmp_path, "other", seed=3, input_size=96)
    refusals = {"differs from": [str(a), str(other), "--out", str(tmp_path / "x.safetensors")],
                "one of the ingredients": [str(a), str(b), "--out", str(a)],
                "at least two": [str(a), "--out", str(tmp_path / "y.safetensors")],
                "must name a .safetensors": [str(a), str(b), "--out", str(tmp_path / "z.pt")],
                "not found": [str(a), str(tmp_path / "missing.safetensors"), "--out", str(tmp_path / "w.safetensors")]}
    before = a.read_bytes()
    for words, argv in refusals.items():
        assert main(["soup", *argv]) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert a.read_bytes() == before and not (tmp_path / "x.safetensors").exists()
