"""A screenshot of the ASV dashboard, without network access (``docs/asv.md``).

``asv publish`` writes a static site (``.asv/html``) whose pages load jQuery, flot,
Bootstrap and two small plugins from CDNs. On a machine without network access
this copies the site, points those tags at the Debian packages' copies
(``apt-get install chromium libjs-jquery libjs-jquery-flot libjs-bootstrap
libjs-jquery-stupidtable node-blueimp-md5``), serves it on localhost and takes
a screenshot of one page with headless Chromium::

    python -m benchmarks.dashboard [--site .asv/html]
        [--page bench_stratify.RealSize.track_ratio_to_plain_copy] [--out docs/img/asv.png]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "offline_copy"]

SHARE = Path("/usr/share/javascript")
LOCAL = {  # what a CDN tag's URL ends with -> the local file that replaces it
    "jquery-3.3.1.min.js": SHARE / "jquery/jquery.min.js",
    "jquery.flot.min.js": SHARE / "jquery-flot/jquery.flot.pack.js",  # flot and its plugins
    "stupidtable.min.js": SHARE / "jquery-stupidtable/stupidtable.min.js",
    "md5.min.js": SHARE / "blueimp-md5/md5.min.js",
    "bootstrap.min.js": SHARE / "bootstrap/js/bootstrap.js",
    "bootstrap.min.css": SHARE / "bootstrap/css/bootstrap.min.css",
}
BUNDLED = ("flot.time.min.js", "flot.selection.min.js", "flot.categories.min.js")
STUB = "(function ($) { $.plot.plugins.push({init: function () {}, name: 'orderBars'}); })(jQuery);"


def offline_copy(site: Path, into: Path) -> Path:
    """A copy of the published site whose pages load only local files."""
    shutil.copytree(site, into, dirs_exist_ok=True)
    vendor = into / "vendor"
    vendor.mkdir(exist_ok=True)
    for source in LOCAL.values():
        shutil.copy(source, vendor / source.name)
    (vendor / "orderbars.js").write_text(STUB)
    for page in into.glob("*.html"):
        text = page.read_text()

        def local(match: re.Match[str]) -> str:
            tag, url = match.group(0), match.group(2)
            if any(url.endswith(name) for name in BUNDLED):
                return ""  # already in flot's pack
            for ending, source in LOCAL.items():
                if url.endswith(ending):
                    return re.sub(r'(src|href)="[^"]+"', f'\\1="vendor/{source.name}"', tag)
            if "orderBars" in url:
                return '<script src="vendor/orderbars.js"></script>'
            return tag

        text = re.sub(
            r'<(?:script|link)[^>]*(src|href)="(https://[^"]+)"[^>]*>(?:</script>)?', local, text
        )
        text = re.sub(r'\s(integrity|crossorigin|referrerpolicy)="[^"]*"', "", text)
        page.write_text(text)
    return into


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard", description=__doc__)
    parser.add_argument("--site", type=Path, default=Path(".asv/html"))
    parser.add_argument("--page", default="bench_stratify.RealSize.track_ratio_to_plain_copy")
    parser.add_argument("--out", type=Path, default=Path("docs/img/asv_dashboard.png"))
    parser.add_argument("--size", default="1400,900", help="window width,height")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        site = offline_copy(args.site, Path(work) / "site")
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/#{args.page}"
        subprocess.run(
            [
                "chromium",
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--window-size={args.size}",
                "--virtual-time-budget=20000",
                f"--screenshot={args.out.resolve()}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        server.shutdown()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
