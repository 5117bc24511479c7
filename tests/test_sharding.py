"""``--shard i/n``: n copies of ``dldl predict`` split the images between them, each image to exactly one."""
from __future__ import annotations

import json

import pytest

from dldl_core.cli.main import main
from dldl_core.pipeline.sharding import in_shard, parse_shard, shard_of


def test_shards_partition_the_paths_and_do_not_depend_on_the_others():
    paths = [f"photos/{i:05d}.jpg" for i in range(2000)]
    shards = [list(in_shard(paths, i, 4)) for i in range(4)]
    assert sorted(p for shard in shards for p in shard) == paths and all(350 < len(s) < 650 for s in shards)
    more = paths + [f"photos/new_{i}.jpg" for i in range(100)]
    assert [p for p in in_shard(more, 2, 4) if p in set(paths)] == shards[2]  # adding files moves none
    assert shard_of("a.jpg", 1) == 0


@pytest.mark.parametrize("text", ["4/4", "-1/4", "1", "a/b", "0/0", "1/2/3"])
def test_a_bad_shard_is_refused_in_one_sentence(text, capsys, grace_hopper_path):
    with pytest.raises(ValueError, match="--shard must be i/n"):
        parse_shard(text)
    assert main(["predict", str(grace_hopper_path), f"--shard={text}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dldl: error: --shard") and len(err.splitlines()) == 1


def test_copies_of_the_command_split_a_folder(tmp_path, photo_folder, capsys):
    folder, _ = photo_folder
    done = []
    for i in range(3):
        out = tmp_path / f"shard_{i}.jsonl"
        assert main(["predict", str(folder), "--weights", "tiny", "--shard", f"{i}/3", "--jsonl", str(out)]) == 0
        done.append([json.loads(line)["path"] for line in out.read_text().splitlines()])
    capsys.readouterr()
    everything = sorted(str(p) for p in folder.glob("*.png"))
    assert sorted(p for shard in done for p in shard) == everything
