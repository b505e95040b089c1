"""Print the handouts: one page per topic, HTML and PDF, from each lesson's title, idea and "Try this".

    python benchmarks/handouts_pdf.py                                  # into handouts/
    python benchmarks/handouts_pdf.py --url http://10.0.0.5:8080 --out /tmp/class   # the class address on each

The HTML comes from ``lessons.handouts``; the PDF is Chromium's (Debian's /usr/bin/chromium through
Playwright's ``page.pdf``, A4, backgrounds on). Each PDF's page count is checked: a handout is one page.
Not a benchmark; it lives here with the other scripts that drive a browser.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lessons import handouts  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def pdf_pages(data: bytes) -> int:
    """Pages in a PDF Chromium wrote (its page objects, not the page-tree nodes)."""
    return len(re.findall(rb"/Type\s*/Page(?!s)", data))


def write_html(out: Path, base_url: str = "") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    items = handouts.collect()
    paths = []
    for h in items:
        path = out / f"{h.module}.html"
        path.write_text(handouts.render(h, base_url), encoding="utf-8")
        paths.append(path)
    (out / "index.html").write_text(handouts.render_index(items, base_url), encoding="utf-8")
    return paths


def write_pdfs(paths: list[Path]) -> dict[Path, int]:
    from playwright.sync_api import sync_playwright

    pages = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            for path in paths:
                page.goto(path.resolve().as_uri())
                pdf = path.with_suffix(".pdf")
                page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
                pages[pdf] = pdf_pages(pdf.read_bytes())
        finally:
            browser.close()
    return pages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "handouts"), help="directory for the HTML and PDF files")
    ap.add_argument("--url", default="", help="the class address printed on each handout")
    ap.add_argument("--html-only", action="store_true", help="skip the PDFs (no Chromium needed)")
    args = ap.parse_args(argv)
    paths = write_html(Path(args.out), args.url)
    print(f"{len(paths)} handouts (HTML) in {args.out}, with index.html")
    if args.html_only:
        return 0
    pages = write_pdfs(paths)
    long = {p.name: n for p, n in pages.items() if n != 1}
    print(f"{len(pages)} PDFs; " + (f"longer than one page: {long}" if long else "each one page"))
    return 1 if long else 0


if __name__ == "__main__":
    sys.exit(main())
