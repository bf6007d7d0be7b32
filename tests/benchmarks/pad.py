"""Time from lifting the pen to the answer on screen, in a real Chromium.

Serves the real app (bundled model, SQLite, gunicorn-free werkzeug server on
localhost), draws digits with the mouse and reads the page's own
`pad:lift-to-answer` measure (the pen's pointerup to the answer rendered).
Also counts the requests the page sent, to show strokes drawn faster than
the answers do not pile up.

    python -m tests.benchmarks.pad [--n 40]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from tests.utils.apps import migrated_app
from tests.utils.browser import CHROMIUM, CHROMIUM_ARGS, Served
from tests.utils.strokes import FOUR_OR_NINE, ONE, SEVEN, draw

MEASURES = "() => performance.getEntriesByName('pad:lift-to-answer').map(e => e.duration)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        app = migrated_app(Path(tmp), RATELIMIT_ENABLED=False)
        served = Served(app)
        url = served.url + "/"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            requests = []
            page.on("request", lambda r: requests.append(r) if "/api/predict" in r.url else None)
            page.goto(url)
            shapes = [ONE, SEVEN, FOUR_OR_NINE]
            for i in range(args.n):
                before = len(page.evaluate(MEASURES))
                draw(page, shapes[i % len(shapes)][:1])
                page.wait_for_function(
                    f"() => performance.getEntriesByName('pad:lift-to-answer').length > {before}"
                )
                page.keyboard.press("Escape")
            times = page.evaluate(MEASURES)
            sent_single = len(requests)
            # Ten quick strokes in a row: one request in flight, the newest sent after it.
            requests.clear()
            for _ in range(10):
                draw(page, ONE)
            page.wait_for_timeout(1500)
            browser.close()
        served.stop()
    times.sort()
    print(
        f"lift to answer over {len(times)} drawings: median {statistics.median(times):.1f} ms, "
        f"p90 {times[int(0.9 * (len(times) - 1))]:.1f} ms, max {times[-1]:.1f} ms "
        f"({sent_single} requests)"
    )
    print(f"ten strokes in a row sent {len(requests)} requests")


if __name__ == "__main__":
    main()
