"""report/ci.py's XML escaping (its own, so that no report imports xml.sax and urllib): any text survives a round trip
through an XML parser, in character data and in attributes, as xml.sax.saxutils would carry it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape as sax_escape

from hypothesis import given, strategies as st

from gradcheck_cli.report.ci import attribute, escape, xml_text

TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@given(TEXT, TEXT)
def test_text_and_attributes_round_trip(data, value):
    data, value = xml_text(data), xml_text(value)
    element = ET.fromstring(f"<case name={attribute(value)}>{escape(data)}</case>")
    assert element.get("name") == value
    assert (element.text or "") == data
    assert escape(data) == sax_escape(data)


def test_quotes_and_whitespace_in_attributes():
    value = 'a "b" \'c\' & <d>\n\te\r'
    assert attribute(value) == '"a &quot;b&quot; \'c\' &amp; &lt;d&gt;&#10;&#9;e&#13;"'
    assert ET.fromstring(f"<x v={attribute(value)}/>").get("v") == value
