"""A PNG of losses and scores over steps, drawn from the JSON-lines training log."""
from pathlib import Path
from typing import List

import srsly


def plot_training_log(log_path: Path, out_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records: List[dict] = list(srsly.read_jsonl(log_path))
    if not records:
        return
    steps = [r["step"] for r in records]
    fig, (loss_ax, score_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for name in records[-1]["losses"]:
        loss_ax.plot(steps, [r["losses"].get(name, float("nan")) for r in records], label=name)
    loss_ax.set(title="Training loss (mean since last evaluation)", xlabel="step")
    loss_ax.legend(fontsize="small")
    for name, value in records[-1]["scores"].items():
        if isinstance(value, (int, float)):
            score_ax.plot(steps, [r["scores"].get(name, float("nan")) for r in records], label=name)
    score_ax.plot(steps, [r["score"] for r in records], label="combined", linewidth=2.5, color="black")
    score_ax.set(title="Dev scores", xlabel="step")
    score_ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(out_path, dpi=100)
    plt.close(fig)
