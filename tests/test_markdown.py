"""Markdown tables and the marker-delimited blocks that commands regenerate in the docs."""
from __future__ import annotations

import pytest

from dldl_core.markdown import check_blocks, markdown_table, write_blocks


def test_markdown_table():
    assert markdown_table(["a", "b"], [[1, "x"], [2.5, None]]) == "| a | b |\n|---|---|\n| 1 | x |\n| 2.5 | None |"
    assert markdown_table(["name", "n", "MAE"], [], align="lrr") == "| name | n | MAE |\n|---|---:|---:|"


@pytest.mark.parametrize("header, rows, align", [(["a", "b"], [[1]], None), (["a", "b"], [[1, 2, 3]], None),
                                                 (["a", "b"], [], "l"), (["a", "b"], [], "lc")])
def test_markdown_table_refuses_ragged_rows_and_bad_alignment(header, rows, align):
    with pytest.raises(ValueError):
        markdown_table(header, rows, align)


def test_blocks_are_replaced_in_place(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\nintro\n<!-- a:begin -->\nold a\n<!-- a:end -->\nmiddle\n"
                   "<!-- b:begin -->\nold b\n<!-- b:end -->\noutro\n")
    assert write_blocks(doc, {"b": "new b", "a": "new a\nsecond line"}) == ["b", "a"]
    assert doc.read_text() == ("# Title\n\nintro\n<!-- a:begin -->\nnew a\nsecond line\n<!-- a:end -->\nmiddle\n"
                               "<!-- b:begin -->\nnew b\n<!-- b:end -->\noutro\n")
    assert write_blocks(doc, {"a": "new a\nsecond line"}) == ["a"]  # writing again changes nothing
    assert doc.read_text().count("<!-- a:begin -->") == 1


def test_missing_markers_are_an_error_before_anything_is_written(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- a:begin -->\nold\n<!-- a:end -->\n")
    with pytest.raises(ValueError, match="c:begin"):
        check_blocks(doc, ["a", "c"])
    with pytest.raises(ValueError, match="c:begin"):
        write_blocks(doc, {"a": "new", "c": "x"})
    assert doc.read_text() == "<!-- a:begin -->\nold\n<!-- a:end -->\n"


def test_a_missing_block_can_be_appended_and_a_missing_file_created(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("# Report\n")
    assert write_blocks(doc, {"r": "table"}, append_missing=True) == ["r"]
    assert doc.read_text() == "# Report\n\n<!-- r:begin -->\ntable\n<!-- r:end -->\n"
    fresh = tmp_path / "sub" / "new.md"
    assert write_blocks(fresh, {"r": "table"}, append_missing=True) == ["r"]
    assert fresh.read_text() == "<!-- r:begin -->\ntable\n<!-- r:end -->\n"


def test_a_smoke_block_never_replaces_measured_results(tmp_path):
    doc = tmp_path / "doc.md"
    measured = "intro\n<!-- r:begin -->\nmeasured\n<!-- r:end -->\noutro\n"
    doc.write_text(measured)
    assert write_blocks(doc, {"r": "smoke"}, smoke=True) == []
    assert doc.read_text() == measured
    # a smoke block is marked as one, so a later smoke run may replace it, and a measured run always does
    doc.write_text("<!-- r:begin smoke -->\nold smoke\n<!-- r:end -->\n")
    assert write_blocks(doc, {"r": "new smoke"}, smoke=True) == ["r"]
    assert doc.read_text() == "<!-- r:begin smoke -->\nnew smoke\n<!-- r:end -->\n"
    assert write_blocks(doc, {"r": "measured"}) == ["r"]
    assert doc.read_text() == "<!-- r:begin -->\nmeasured\n<!-- r:end -->\n"
    assert write_blocks(doc, {"r": "smoke"}, smoke=True, append_missing=True) == []
