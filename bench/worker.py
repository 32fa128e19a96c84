"""One family of measurements in a process of its own: ``python -m bench.worker JSON``.
Prints the result rows as JSON on its last line (used by ``python -m bench``)."""

import json
import os
import sys

from . import cases
from . import suite
from .__main__ import run_family


def main() -> int:
    arg = json.loads(sys.argv[1])
    suite.TIME_BUDGET_S = arg["budget"]
    if arg["family"] == "torch":
        import torch
        torch.set_num_threads(os.cpu_count() or 1)
    rows = run_family(cases.Case(**arg["case"]), arg["family"], arg["device"], arg["repeats"],
                      arg["quick"])
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
