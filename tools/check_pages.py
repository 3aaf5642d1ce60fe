"""Renders every page of a built docfx site (docs/_site) in headless Chromium, served over HTTP as a browser sees it, and
checks what the reader gets after the scripts ran: the article has text, every code block is highlighted and not empty
(docfx includes a missing region as nothing), the side table of contents loaded (API and guide pages), and no script
error reached the console. Optionally saves screenshots of a few pages to look at.
Usage: python3 tools/check_pages.py docs/_site [screenshot-folder]"""
import concurrent.futures
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading

site = os.path.abspath(sys.argv[1])
shots = sys.argv[2] if len(sys.argv) > 2 else None
browser = shutil.which("chromium-headless-shell") or shutil.which("chromium")
if not browser:
    sys.exit("no headless Chromium: apt-get install chromium-headless-shell (Debian)")
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


handler = functools.partial(Quiet, directory=site)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{server.server_address[1]}/"
flags = ["--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=10000"]


def render(rel):
    run = subprocess.run([browser, *flags, "--dump-dom", base + rel], capture_output=True, text=True, timeout=60)
    dom, problems = run.stdout, []
    if run.returncode != 0 or "<html" not in dom:
        return rel, [f"the browser failed (exit {run.returncode})"]
    article = re.search(r"<article[^>]*>(.*?)</article>", dom, re.S)
    text = re.sub(r"<[^>]+>|\s+", " ", article.group(1)).strip() if article else ""
    if len(text) < 40:
        problems.append("the article is missing or empty")
    codes = re.findall(r"<pre[^>]*>\s*<code([^>]*)>(.*?)</code>", dom, re.S)
    plain = [c for c, _ in codes if 'data-highlighted="yes"' not in c]
    if plain:
        problems.append(f"{len(plain)} of {len(codes)} code blocks are not highlighted")
    empty = sum(1 for _, body in codes if not re.sub(r"<[^>]+>", "", body).strip())
    if empty:
        problems.append(f"{empty} code blocks are empty (an include whose file or region is missing)")
    toc = re.search(r'<nav[^>]*id="toc"[^>]*>(.*?)</nav>', dom, re.S)
    if rel.startswith(("api/", "articles/")) and not (toc and "<a " in toc.group(1)):
        problems.append("the table of contents did not load")
    errors = [l for l in run.stderr.splitlines() if "CONSOLE" in l and ("Uncaught" in l or "Error" in l)]
    problems += [f"console: {e.strip()[:200]}" for e in errors]
    return rel, problems


pages = sorted(os.path.relpath(os.path.join(r, f), site) for r, _, fs in os.walk(site) for f in fs
               if f.endswith(".html") and f != "toc.html")
failed = 0
with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
    for rel, problems in pool.map(render, pages):
        for p in problems:
            print(f"{rel}: {p}", file=sys.stderr)
        failed += bool(problems)
if shots:
    os.makedirs(shots, exist_ok=True)
    for rel in ["index.html", "articles/getting-started.html", "articles/file-format.html", "api/DeepSharp.Tensor.html"]:
        out = os.path.join(os.path.abspath(shots), rel.replace("/", "_").replace(".html", ".png"))
        subprocess.run([browser, *flags, "--window-size=1280,1600", f"--screenshot={out}", base + rel],
                       capture_output=True, timeout=60)
server.shutdown()
print(f"pages: {len(pages)} rendered in {os.path.basename(browser)}, {failed} with problems"
      + (f"; screenshots in {shots}" if shots else ""))
sys.exit(1 if failed or not pages else 0)
