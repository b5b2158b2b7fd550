"""Prompts and completions are untrusted: shown as Markdown (code blocks, lists, emphasis) but inert.

Raw HTML in the text is not interpreted (a `<script>` shows as text), and the HTML Markdown produces is
sanitised with nh3, which drops `javascript:` links; images are dropped so a completion cannot make the
labeller's browser fetch a URL.
"""

import markdown
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown.extensions import Extension

register = template.Library()

ALLOWED_TAGS = nh3.ALLOWED_TAGS - {"img"}


class _RawHtmlAsText(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


def markdown_html(text: str, *, allow_html: bool = False) -> str:
    """Markdown to sanitised HTML; `allow_html` lets staff-written text (instructions) keep its tags."""
    extensions: list[Extension | str] = ["fenced_code", "tables", "sane_lists"]
    if not allow_html:
        extensions.append(_RawHtmlAsText())
    return nh3.clean(markdown.markdown(text, extensions=extensions), tags=ALLOWED_TAGS)


@register.filter
def as_markdown(text: str) -> SafeString:
    return mark_safe(markdown_html(text or ""))  # noqa: S308 - sanitised by nh3 in markdown_html
