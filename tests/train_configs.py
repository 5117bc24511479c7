"""A tiny training run's configuration shared by the trainer tests: epochs of three steps on six 32x32 chips of the
pip-bundled photos, validated on two."""
from pathlib import Path

from dldl_core.training.config import TrainConfig

# An alignment template given in the config, so that these runs skip measuring one on the training chips.
TEMPLATE = ((0.32, 0.42), (0.68, 0.42), (0.5, 0.58), (0.5, 0.76), (0.12, 0.48), (0.88, 0.48))


def small_config(photo_folder: tuple[Path, Path], tmp_path: Path, epochs: int) -> TrainConfig:
    folder, manifest = photo_folder
    return TrainConfig(data=str(folder), manifest=str(manifest), out=str(tmp_path / "run.safetensors"),
                       input_size=32, epochs=epochs, batch_size=2, warmup_epochs=1, amp=False, template=TEMPLATE,
                       cache_dir=str(tmp_path / "cache"), progress=False)
