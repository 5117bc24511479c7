"""Markdown tables of a benchmark result, written between ``<!-- bench:NAME:begin -->`` / ``:end -->`` markers
(dldl_core.markdown.write_blocks) so that one command regenerates every table of docs/performance.md."""
from __future__ import annotations

import textwrap
from typing import Any

from dldl_core.markdown import markdown_table

PARTS = ("environment", "stages", "forward", "runtimes")  # the blocks every run writes; "peer" with --peer
MARKER_PREFIX = "bench:"  # a part's block in the docs: <!-- bench:PART:begin --> ... <!-- bench:PART:end -->


def _ms(v: float) -> str:
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def environment_block(result: dict[str, Any], command: str) -> str:
    env = result["environment"]
    load = f"load average (1, 5, 15 min) at the start {env['load_average']}"
    if "load_average_end" in env:
        load += f" and at the end {env['load_average_end']}"
    return (f"Command: `{command}`\n\n"
            f"Measured on {env['cpu']} ({env['cores']} cores), device `{env['device']}`, {env['threads']} torch "
            f"threads, torch {env['torch']}, onnxruntime {env['onnxruntime'] or 'not installed'}, bf16 "
            f"{'used' if env['bf16_fast'] else 'not used (not native here)'}; {load}. Each figure is the median of "
            f"{result['repeat']} timed calls after {result['warmup']} warm-up calls.")


def stages_block(result: dict[str, Any]) -> str:
    rows = [[r["stage"], r["name"], _ms(r["median_ms"]), _ms(r["min_ms"]), _ms(r["per_item_ms"]),
             f"{r['items_per_s']:.1f}"] for r in result["stages"] if r["stage"] != "forward"]
    return markdown_table(["stage", "what", "median ms", "min ms", "ms per item", "items/s"], rows)


def forward_block(result: dict[str, Any]) -> str:
    peak = result["peak_gflops"]
    rows = [[r["arch"], r["input_size"], r["batch"], r["precision"], _ms(r["median_ms"]), _ms(r["per_item_ms"]),
             f"{r['items_per_s']:.1f}", f"{r['gflops_per_image']:.3f}", f"{r['achieved_gflops']:.1f}",
             f"{r['matmul_gflops']:.1f}", f"{100 * r['peak_fraction']:.0f} %"]
            for r in result["stages"] if r["stage"] == "forward"]
    flops = ", ".join(f"{k.replace('@', ' at ')} px {v / 1e9:.3f}" for k, v in result["flops_per_image"].items())
    return (markdown_table(["network", "input px", "batch", "precision", "median ms", "ms per image", "images/s",
                            "GFLOP per image", "achieved GFLOP/s", "matmul GFLOP/s, interleaved", "of matmul"], rows)
            + "\n\nBest matrix-multiply call of the run (n x n @ n x n, n = 1024 and 2048, before these rows): "
            + ", ".join(f"{p} {v:.1f} GFLOP/s" for p, v in peak.items())
            + f". FLOPs per image (a multiply-add counts 2; convolutions and the linear head only): {flops} GFLOP.")


def runtimes_block(runtimes: dict[str, Any]) -> str:
    if not runtimes.get("available"):
        return f"Not measured: {runtimes.get('reason')}."
    rows = [[r["batch"], _ms(r["torch"]["median_ms"]), _ms(r["onnxruntime"]["median_ms"]), f"{r['speedup']:.2f}x",
             f"{r['max_abs_diff']:.1e}"] for r in runtimes["rows"]]
    verdict = ("onnxruntime is faster by more than the required margin at every batch size" if
               runtimes["onnxruntime_wins"] else "onnxruntime does not beat torch by the required margin")
    return (markdown_table(["batch", "torch ms", "onnxruntime ms", "torch / onnxruntime",
                            "max abs diff of the distribution"], rows)
            + f"\n\n{runtimes['input_size']} px input, {runtimes['threads']} threads, onnxruntime "
              f"{runtimes['onnxruntime']}; margin required {runtimes['win_margin']:.2f}x: {verdict}.")


def peer_block(peer: dict[str, Any]) -> str:
    if not peer.get("available"):
        return f"Not measured: {peer.get('reason')}."
    photos = markdown_table(
        ["photo", "ours faces", "ours ms", "ours faces/s", "peer faces", "peer ms", "peer faces/s",
         "peer ms / ours ms"],
        [[p["photo"] + " " + p["size"], p["ours"]["faces"], _ms(p["ours"]["median_ms"]),
          f"{p['ours']['faces_per_s']:.1f}", p["peer"]["faces"], _ms(p["peer"]["median_ms"]),
          f"{p['peer']['faces_per_s']:.1f}", f"{p['speed_ratio']:.2f}"] for p in peer["photos"]])
    faces = peer["faces"]
    keys = [k for k in ("mae", "mae_age_le_80") if k in faces["ours"]]
    labels = {"ours": "ours, flip-TTA (as the app)", "ours_no_flip": "ours, one forward", "peer": "peer"}
    rows = [[label, f"{faces[who]['faces_per_s']:.1f}", _ms(faces[who]["wall_ms_per_face"]),
             _ms(faces[who]["cpu_ms_per_face"])] + [f"{faces[who][k]:.2f}" for k in keys]
            for who, label in labels.items() if who in faces]
    header = ["system", "faces/s", "wall ms per face", "CPU ms per face"] + [
        {"mae": "MAE", "mae_age_le_80": f"MAE, ages <= 80 ({faces.get('faces_age_le_80')} faces)"}[k] for k in keys]
    return (f"{peer['package']} {peer['version']} (1 onnxruntime thread, its fixed setting) against ours "
            f"({peer['ours_threads']} threads, {peer['ours_backend']}, flip-TTA {'on' if peer['ours_tta'] else 'off'})."
            f"\n\nPhotos end to end, each system with its own detector:\n\n{photos}\n\n"
            f"The same face crops ({faces['source']}), one at a time, interleaved; peer time / our time (with "
            f"flip-TTA) {faces['speed_ratio']:.2f}:\n\n" + markdown_table(header, rows))


def wrap_prose(markdown: str, width: int = 120) -> str:
    """Wrap the paragraphs of ``markdown`` at ``width`` columns, except tables and the command line (kept whole for
    copying)."""
    paragraphs = markdown.split("\n\n")
    return "\n\n".join(p if p.startswith(("|", "Command:")) else textwrap.fill(
        p, width, break_long_words=False, break_on_hyphens=False) for p in paragraphs)


def blocks(result: dict[str, Any], command: str) -> dict[str, str]:
    """Part name -> markdown, for the parts present in ``result``, prose wrapped at 120 columns (its block in the
    docs is ``MARKER_PREFIX`` + the part's name)."""
    out = {}
    if "stages" in result:
        out.update(environment=environment_block(result, command), stages=stages_block(result),
                   forward=forward_block(result))
    if "runtimes" in result:
        out["runtimes"] = f"Command: `{command}`\n\n" + runtimes_block(result["runtimes"])
    if "peer" in result:
        out["peer"] = f"Command: `{command}`\n\n" + peer_block(result["peer"])
    return {name: wrap_prose(text) for name, text in out.items()}
