"""Draws docs/figures/ranking_vs_cdf.png: DLDL-v2's result that ranking is learning a label distribution.

For an age y and a Gaussian label distribution p (sigma 1 to 4) over the support, the K-1 ranking targets
"age > l_k" of Ranking-CNN / OR-CNN, averaged over ages drawn from p, are exactly 1 - CDF of p; with sigma -> 0 they
are the hard 0/1 targets of a single age. Every number comes from ``dldl_core.maths.labels``.

Usage: python scripts/figure_ranking_vs_cdf.py [--out docs/figures/ranking_vs_cdf.png]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from dldl_core.maths import labels

AGE = 30.0
SIGMAS = (1.0, 2.0, 3.0, 4.0)
SUPPORT = labels.age_support(0, 116, 117).double()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/figures/ranking_vs_cdf.png")
    args = parser.parse_args()

    y = torch.tensor([AGE], dtype=torch.float64)
    hard = labels.ranking_targets(SUPPORT, SUPPORT)  # (K, K-1): row j holds [l_j > l_k]
    thresholds = SUPPORT[:-1]  # l_k of the K-1 binary tasks
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    colours = plt.cm.viridis(torch.linspace(0.1, 0.85, len(SIGMAS)).numpy())
    worst = 0.0
    for sigma, colour in zip(SIGMAS, colours):
        p = labels.gaussian_label_distribution(y, SUPPORT, sigma)  # (1, K)
        cdf = labels.cdf(p)[0, :-1]
        ranking = labels.ranking_from_distribution(p)[0]  # 1 - CDF
        expected_targets = (p @ hard)[0]  # mean of the hard ranking targets over ages drawn from p
        worst = max(worst, float((expected_targets - (1 - cdf)).abs().max()))
        axes[0].plot(SUPPORT, p[0], "-o", ms=3, color=colour, label=f"Gaussian, sigma = {sigma:g}")
        axes[1].plot(thresholds, ranking, "-", color=colour, label=f"1 - CDF, sigma = {sigma:g}")
        axes[1].plot(thresholds, expected_targets, "o", ms=3.5, mfc="none", color=colour)
        axes[2].plot(cdf, expected_targets, "o", ms=3, color=colour, label=f"sigma = {sigma:g}")
    axes[0].vlines(AGE, 0, 1, colors="black", linestyles=":", label="one-hot (DEX)")
    axes[1].step(thresholds, labels.ranking_targets(y, SUPPORT)[0], where="mid", color="black", ls=":",
                 label="hard targets [y > l_k]")
    axes[2].plot([0, 1], [1, 0], "k-", lw=1, label="r = 1 - CDF")
    axes[0].set(xlim=(AGE - 14, AGE + 14), ylim=(0, 0.45), xlabel="age bin l_k", ylabel="p_k",
                title=f"Label distributions for y = {AGE:g}")
    axes[1].set(xlim=(AGE - 14, AGE + 14), xlabel="threshold l_k", ylabel="P(age > l_k)",
                title="Ranking targets: lines 1 - CDF, circles E_p[age > l_k]")
    axes[2].set(xlabel="CDF_k of the label distribution", ylabel="ranking target r_k",
                title=f"Linear: r_k = 1 - CDF_k (max gap {worst:.0e})")
    if worst > 1e-12:
        raise RuntimeError(f"E_p[age > l_k] differs from 1 - CDF by {worst:g}")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Ranking is learning a label distribution (DLDL-v2): the K-1 binary ranking targets are "
                 "1 - CDF of the label distribution")
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
