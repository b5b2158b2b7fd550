import pytest

from labelapp.templatetags.markdown_text import markdown_html


@pytest.mark.parametrize(
    ("text", "must_not_contain"),
    [
        ("<script>alert(1)</script>", "<script"),
        ("<img src=x onerror=alert(1)>", "<img"),
        ("[click](javascript:alert(1))", "javascript:"),
        ('<a href="javascript:alert(1)">x</a>', "<a "),
        ("![tracker](http://example.com/pixel.png)", "<img"),
        ("<div onclick=alert(1)>hi</div>", "<div"),
    ],
)
def test_untrusted_text_is_inert(text, must_not_contain):
    assert must_not_contain not in markdown_html(text)


def test_raw_html_is_shown_as_text_not_dropped():
    assert markdown_html("<script>alert(1)</script>") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_markdown_and_code_blocks_render_readably():
    html = markdown_html(
        "**Bold** and a list:\n\n- one\n- two\n\n```python\nif a < b:\n    print('<b>')\n```"
    )
    assert "<strong>Bold</strong>" in html and "<li>one</li>" in html
    assert "<pre><code>if a &lt; b:\n    print('&lt;b&gt;')\n</code></pre>" in html


def test_staff_instructions_keep_safe_html_but_lose_script():
    html = markdown_html("Be <em>fair</em>.<script>steal()</script>", allow_html=True)
    assert "<em>fair</em>" in html and "<script" not in html
