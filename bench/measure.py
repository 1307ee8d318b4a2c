"""Run one command; print its wall time and peak resident memory as JSON (run as its own process, so the
peak belongs to that command alone).

    python bench/measure.py OUT.json -- COMMAND ARGS...
"""
import json
import resource
import subprocess
import sys
import time


def main() -> None:
    out, separator, *command = sys.argv[1:]
    assert separator == "--", "usage: measure.py OUT.json -- COMMAND ..."
    start = time.perf_counter()
    result = subprocess.run(command)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with open(out, "w") as f:
        json.dump({"seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb), "returncode": result.returncode}, f)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
