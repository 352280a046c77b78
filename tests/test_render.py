"""patentpool.render: JSON goes out as UTF-8 bytes where the stream has a buffer, as text where it has not."""

from __future__ import annotations

import io
import json

from patentpool import render


def test_json_through_a_buffered_text_stream_keeps_the_order_of_earlier_text() -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    out.write("before\n")  # still in the text layer's buffer when the bytes go out
    render.emit({"名": "北京", "n": 1}, "json", out)
    out.write("after\n")
    out.flush()
    head, brace, rest = raw.getvalue().decode("utf-8").partition("{")
    assert head == "before\n"
    text = brace + rest
    assert text.endswith("}\nafter\n")
    assert json.loads(text.removesuffix("after\n")) == {"名": "北京", "n": 1}
    assert '\n  "n": 1' in text  # indented


def test_json_to_a_stream_without_a_buffer_or_in_another_encoding_is_written_as_text() -> None:
    plain = io.StringIO()
    render.emit({"a": "é"}, "json", plain)
    assert json.loads(plain.getvalue()) == {"a": "é"}
    latin = io.BytesIO()
    out = io.TextIOWrapper(latin, encoding="latin-1")
    render.emit({"a": "é"}, "json", out)
    out.flush()
    assert json.loads(latin.getvalue().decode("latin-1")) == {"a": "é"}
