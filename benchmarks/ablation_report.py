"""The ablation's tables and its trained ranking-vs-CDF figure, from the finished runs (see ablation.py)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from dldl_core.markdown import markdown_table
from dldl_core.maths import metrics
from dldl_core.maths.intervals import paired_bootstrap, t_interval


def summary(pred: np.ndarray, true: np.ndarray, unique: np.ndarray, e_sigma: float) -> dict[str, float]:
    """One run's figures on every val face and on the faces without a copy in train."""
    return {"mae": metrics.mae(pred, true), "mae_unique": metrics.mae(pred[unique], true[unique]),
            "cs5": metrics.cs_at(pred, true, 5), "gross": metrics.gross_error_share(pred, true),
            "e_error": metrics.e_error(pred, true, np.full_like(true, e_sigma)),
            "unique_images": int(unique.sum())}


def rows_by_name(results: dict[str, dict]) -> dict[str, list[dict]]:
    """The runs of each row, by seed, in the order the rows were first run."""
    rows: dict[str, list[dict]] = {}
    for r in results.values():
        rows.setdefault(r["row"], []).append(r)
    return {name: sorted(runs, key=lambda r: r["seed"]) for name, runs in rows.items()}


def _spread(values: list[float], digits: int = 2) -> str:
    mean = float(np.mean(values))
    return f"{mean:.{digits}f} +- {np.std(values, ddof=1):.{digits}f}" if len(values) > 1 else f"{mean:.{digits}f}"


def row_table(rows: dict[str, list[dict]]) -> list[str]:
    """Mean +- standard deviation over seeds of every figure, and each seed's MAE."""
    cells = []
    for name, runs in rows.items():
        col = {key: [r[key] for r in runs] for key in ("mae", "mae_unique", "cs5", "e_error", "gross")}
        cells.append([f"`{name}`", len(runs), _spread(col["mae"]), _spread(col["mae_unique"]),
                      " / ".join(f"{m:.2f}" for m in col["mae"]), f"{_spread([100 * c for c in col['cs5']], 1)} %",
                      _spread(col["e_error"], 3), f"{_spread([100 * g for g in col['gross']], 1)} %",
                      f"{np.mean([r['train_img_per_s'] for r in runs]):.0f}"])
    return markdown_table(["row", "seeds", "MAE", "MAE, unique faces", "each seed's MAE", "CS@5", "e-error",
                           "> 15 years off", "train img/s"], cells).splitlines()


def _errors(outputs: dict[str, dict[str, np.ndarray]], runs: list[dict], mask: np.ndarray | None = None
            ) -> np.ndarray:
    """(seeds, faces) absolute errors of a row's runs."""
    errs = np.stack([np.abs(outputs[r["key"]]["pred"] - outputs[r["key"]]["true"]) for r in runs])
    return errs if mask is None else errs[:, mask]


def _interval(mean: float, lo: float, hi: float) -> str:
    return "-" if math.isnan(lo) else f"{mean:+.2f} [{lo:+.2f}, {hi:+.2f}]"


def verdict(seed_interval: tuple[float, float, float], face_interval: tuple[float, float, float],
            n_seeds: int) -> str:
    """What a row-minus-reference comparison establishes: a difference only when the interval over seeds (training
    noise) and the one over faces (test-set noise) both exclude zero on the same side; one seed decides nothing."""
    if n_seeds < 2:
        return "not decidable (one seed)"
    sides = set()
    for _, lo, hi in (seed_interval, face_interval):
        sides.add("worse" if lo > 0 else "better" if hi < 0 else "open")
    return f"established: {sides.pop()}" if len(sides) == 1 and "open" not in sides else "not established"


def difference_table(rows: dict[str, list[dict]], outputs: dict[str, dict[str, np.ndarray]], reference: str
                     ) -> list[str]:
    """Each row minus the reference on the seeds both have: over seeds (t interval, training noise) and over
    faces (paired bootstrap of the seed-averaged errors, test-set noise); 95 % intervals."""
    if reference not in rows:
        return [f"(no `{reference}` run yet)"]
    cells = []
    by_seed = {r["seed"]: r for r in rows[reference]}
    for name, runs in rows.items():
        runs = [r for r in runs if r["seed"] in by_seed]
        if name == reference or not runs:
            continue
        ref = [by_seed[r["seed"]] for r in runs]
        seed_mean, lo, hi = seed = t_interval(np.array([r["mae"] - f["mae"] for r, f in zip(runs, ref)]))
        unique = outputs[runs[0]["key"]].get("unique")
        face = paired_bootstrap(_errors(outputs, runs), _errors(outputs, ref))
        face_unique = paired_bootstrap(_errors(outputs, runs, unique), _errors(outputs, ref, unique)) \
            if unique is not None else (math.nan,) * 3
        e_diff = np.mean([r["e_error"] - f["e_error"] for r, f in zip(runs, ref)])
        cells.append([f"`{name}`", ", ".join(str(r["seed"]) for r in runs),
                      _interval(seed_mean, lo, hi) if len(runs) > 1 else f"{seed_mean:+.2f} (one seed)",
                      _interval(*face), _interval(*face_unique), f"{e_diff:+.3f}", verdict(seed, face, len(runs))])
    return markdown_table(["row", "paired seeds", "MAE difference, 95 % over seeds", "95 % over faces",
                           "unique faces, 95 % over faces", "e-error difference", "verdict (both intervals)"],
                          cells).splitlines()


def ranking_figure(outputs: dict[str, dict[str, np.ndarray]], path: Path, root: Path) -> str | None:
    """The trained ranking network's sigmoids against 1 - CDF of the trained ``dldl`` network, same val faces.

    Returns the report's paragraph (with its correlation), or None while either run is missing."""
    rank, dldl = outputs.get("ranking_seed0"), outputs.get("dldl_seed0")
    if rank is None or dldl is None or "ranking_sigmoids" not in rank:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sig = rank["ranking_sigmoids"].astype(np.float64)  # (N, K-1): P(age > l_k)
    one_minus_cdf = 1 - np.cumsum(dldl["distribution"].astype(np.float64), 1)[:, :-1]
    r = float(np.corrcoef(sig.ravel(), one_minus_cdf.ravel())[0, 1])
    gap = float(np.abs(sig - one_minus_cdf).mean())
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    true = rank["true"]
    for age, colour in zip((5, 28, 50, 75), ("tab:blue", "tab:green", "tab:orange", "tab:red")):
        i = int(np.argmin(np.abs(true - age)))
        axes[0].plot(sig[i], color=colour, label=f"ranking sigmoids, face aged {true[i]:g}")
        axes[0].plot(one_minus_cdf[i], color=colour, ls="--", label="1 - CDF of dldl, same face")
    axes[0].set(xlabel="threshold l_k (years)", ylabel="P(age > l_k)", title="Four val faces")
    axes[0].legend(fontsize=7)
    axes[1].hexbin(one_minus_cdf.ravel(), sig.ravel(), gridsize=60, bins="log", cmap="viridis")
    axes[1].plot([0, 1], [0, 1], "w--", lw=1)
    axes[1].set(xlabel="1 - CDF of the trained dldl network", ylabel="trained ranking network's sigmoid",
                title=f"All {sig.shape[0]} val faces x {sig.shape[1]} thresholds: r = {r:.3f}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    rel = path.relative_to(root / "docs") if root / "docs" in path.parents else path
    return (f"On the same {sig.shape[0]} val faces, the trained `ranking` network's {sig.shape[1]} sigmoids against "
            f"1 - CDF of the trained `dldl` network's distribution (seed 0 of each): Pearson r = {r:.3f} over all "
            f"face-threshold pairs, mean absolute gap {gap:.3f}.\n\n![trained ranking vs 1 - CDF]({rel})")
