"""Checks a built docfx site (docs/_site): every local link and resource resolves, and every #fragment names an element
of its target page. External links (http, https, mailto) are listed, not fetched: CI has no internet.
Usage: python3 tools/check_site.py docs/_site"""
import html.parser
import os
import sys
import urllib.parse


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        for key in ("href", "src"):
            if a.get(key) is not None and not (tag == "link" and a.get("rel") in ("preconnect", "dns-prefetch")):
                self.links.append((tag, a[key]))


site = os.path.abspath(sys.argv[1])
pages = {}
for root, _, files in os.walk(site):
    for f in files:
        if f.endswith(".html"):
            p = Page()
            p.feed(open(os.path.join(root, f), encoding="utf-8").read())
            pages[os.path.join(root, f)] = p
broken, external, checked = [], set(), 0
for path, page in pages.items():
    for tag, link in page.links:
        url = urllib.parse.urlsplit(link)
        if url.scheme in ("http", "https", "mailto") or link.startswith("//"):
            external.add(link)
            continue
        if url.scheme == "javascript" or (not url.path and not url.fragment):
            continue
        target = os.path.normpath(os.path.join(os.path.dirname(path), urllib.parse.unquote(url.path))) if url.path else path
        if os.path.isdir(target):
            target = os.path.join(target, "index.html")
        checked += 1
        rel = os.path.relpath(path, site)
        if not os.path.isfile(target):
            broken.append(f"{rel}: <{tag}> {link}: no file {os.path.relpath(target, site)}")
        elif url.fragment and target in pages and urllib.parse.unquote(url.fragment) not in pages[target].ids:
            broken.append(f"{rel}: <{tag}> {link}: no element with id '{url.fragment}' in {os.path.relpath(target, site)}")
for b in broken:
    print(b, file=sys.stderr)
print(f"site: {len(pages)} pages, {checked} local links and resources checked, {len(broken)} broken; "
      f"{len(external)} external links not fetched (no internet in CI)")
sys.exit(1 if broken or not pages else 0)
