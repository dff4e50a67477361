"""Parse a report page the way a browser tokenizes it: which tags and attributes it holds."""

from __future__ import annotations

from html.parser import HTMLParser

# Everything the report itself emits. A tag outside this set came from someone else's text.
REPORT_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "nav", "section", "header",
    "h1", "h2", "h3", "h4", "p", "div", "span", "b", "em", "code", "br", "ul", "li", "a",
    "details", "summary", "table", "thead", "tbody", "tr", "th", "td", "ins", "del",
    "svg", "g", "rect", "text", "line",
}


class PageTags(HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    @property
    def tag_names(self) -> set[str]:
        return {t for t, _ in self.tags}

    @property
    def attribute_names(self) -> set[str]:
        return {name for _, attrs in self.tags for name in attrs}

    @property
    def all_text(self) -> str:
        return "".join(self.text)
