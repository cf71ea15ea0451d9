"""`make bench`: runs the benchmark sections side by side and writes bench/reports/<time>.md."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import platform
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the local-stack launcher shared with the e2e tests

from bench import delivery, documents, intake, outbox, relay, routing, survey  # noqa: E402 - they import `stack`, found through sys.path above

SECTIONS = {"outbox": outbox.run, "documents": documents.run, "intake": intake.run, "relay": relay.run,
            "routing": routing.run, "survey": survey.run, "delivery": delivery.run}


def main() -> None:
    chosen = sys.argv[1:] or list(SECTIONS)
    now = dt.datetime.now().astimezone()
    header = [f"# onestop benchmark report, {now:%Y-%m-%d %H:%M %Z}", "",
              f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}. "
              "Shared machine: figures vary between runs; compare ratios measured in the same run.", ""]
    parts = []
    for name in chosen:
        print(f"running {name} ...", flush=True)
        parts.append(SECTIONS[name]())
    report = "\n".join(header + parts) + "\n"
    out = HERE / "reports" / f"bench-{now:%Y%m%d-%H%M%S}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report, encoding="utf-8")
    print(report)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
