"""The training loop: setup, fit, finish. However a run ends (its steps, the end of its epochs, patience, a stop
signal, a non-finite loss, an error in a head), the steps since the last evaluation are evaluated and saved
where the weights allow it, and the closing message names only what is on disk.

The graph is wired explicitly (training/model.py): heads name the transformer they read, spaCy's own
components reach it through listener layers that the trainer hands the live batch to.
"""
import math
import sys
import time
from pathlib import Path
from typing import Optional

import torch
from spacy.util import resolve_dot_names

from ..atomic_folders import save_atomically
from ..errors import Errors, TrftrainError, Warnings
from . import distributed, rng
from .batches import shard
from .checkpoints import write_checkpoint
from .log import append_record
from .plot import plot_training_log
from .resume import snapshot
from .run import TrainingRun, setup
from .signals import StopRequest, graceful_stop
from .weights import all_finite

# Why a run ended, in the words of its closing message.
STEPS, EPOCHS, PATIENCE, SIGNAL, NON_FINITE, ERROR, HARD_STOP = (
    "steps", "epochs", "patience", "signal", "non_finite", "error", "hard_stop")


class TrainingStopped(KeyboardInterrupt):
    """A run stopped by a signal, after saving; exit_code follows the shell's convention (130 Ctrl-C, 143 TERM)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.message, self.exit_code = message, exit_code


def train(config_path: Path, output_dir: Optional[Path] = None, *, overrides: Optional[dict] = None,
          gpu_id: int = -1, resume: bool = False, overwrite: bool = False, allow_changes=(),
          stdout=None, stderr=None, source=None) -> Optional[Path]:
    """Train the pipeline a config describes; returns the path of model-best (model-last if no evaluation made a
    best; None without output_dir). Raises TrainingStopped after saving when a signal stopped the run.
    source (Optional[TrainingSource]): training batches from elsewhere than the config's training corpus."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    process = distributed.start(use_cuda=gpu_id >= 0)
    try:
        run = setup(config_path, output_dir, overrides=overrides, gpu_id=gpu_id, resume=resume, overwrite=overwrite,
                    allow_changes=allow_changes, process=process, stdout=stdout, stderr=stderr, source=source)
        with graceful_stop(stderr) as stop:
            ending, detail = fit(run, stop)
            return finish(run, ending, detail, stop)
    finally:
        distributed.stop()


def fit(run: TrainingRun, stop: StopRequest) -> tuple:
    """Train until an end condition; returns (ending, detail). Never raises for an error in a head: that is an
    ending too, handled by finish()."""
    T, state, process = run.T, run.state, run.process
    run.trainer.train_mode()
    try:
        while state.step < T["max_steps"]:
            if _agreed(stop.requested, run):
                return SIGNAL, None
            boundary = _step_boundary(run)
            group = run.stream.take(T["accumulate_gradient"] * process.world_size)
            if not group:
                return EPOCHS, None
            n_micro = -(-len(group) // process.world_size)
            tick = time.perf_counter()
            try:
                result = run.trainer.step(shard(group, n_micro, process.rank, process.world_size), state.step)
            except Exception:
                if run.trainer.updating:
                    run.clean_boundary = False  # some weights took the batch, others not: no checkpoint to resume
                else:
                    _return_to(run, boundary)
                raise
            if result.non_finite:
                _return_to(run, boundary)
                return NON_FINITE, (state.step + 1, result.non_finite)
            state.seconds_since_eval += time.perf_counter() - tick
            state.words_since_eval += int(distributed.sum_(_tensor(result.words), process).item())
            state.step += 1
            state.epoch = run.stream.epoch
            if state.step % T["eval_frequency"] == 0 or state.step == T["max_steps"]:
                evaluate_and_save(run)
                if _should_stop_for_patience(run):
                    return PATIENCE, None
            else:
                run.log_step(None)
            frequency = T["checkpoint_frequency"]
            if frequency and state.step % frequency == 0:
                save_checkpoint(run)
            run.trainer.train_mode()
        return STEPS, None
    except KeyboardInterrupt:
        return HARD_STOP, None
    except Exception as err:  # an error in a head or a loader: save what is safe, then report it
        return ERROR, err


def _step_boundary(run: TrainingRun) -> tuple:
    """What a failed step changes besides the weights it never updated: the stream's position, the random
    generators (dropout) and the loss sums. Taken before each step (about 0.1 ms) so that the checkpoint a
    failure leaves is the state after the last good step, and a resumed run retries the failed batch."""
    return run.stream.state_dict(), rng.capture(), dict(run.trainer.losses)


def _return_to(run: TrainingRun, boundary: tuple) -> None:
    stream, generators, losses = boundary
    run.stream.load_state_dict(stream)
    rng.restore(generators)
    run.trainer.losses.clear()
    run.trainer.losses.update(losses)


def _tensor(value: float) -> torch.Tensor:
    return torch.tensor([float(value)], dtype=torch.float64)


def _agreed(flag: bool, run: TrainingRun) -> bool:
    """A stop that any process received stops them all, at the same step."""
    if not run.process.distributed:
        return flag
    return bool(distributed.sum_(_tensor(1.0 if flag else 0.0), run.process).item() > 0)


def _should_stop_for_patience(run: TrainingRun) -> bool:
    patience = run.T["patience"]
    decision = bool(patience and run.state.step - run.state.best_step >= patience)
    return distributed.broadcast_flag(decision, run.process, run.device)


def evaluate_dev(run: TrainingRun) -> dict:
    (reader,) = resolve_dot_names(run.config, [run.T["dev_corpus"]])
    return run.nlp.evaluate(list(reader(run.nlp)), batch_size=run.T["eval_batch_size"])


def combined_score(scores: dict, weights: dict) -> float:
    total = float(sum((scores.get(key) or 0.0) * weight for key, weight in weights.items() if weight))
    return total if math.isfinite(total) else float("-inf")


def evaluate_and_save(run: TrainingRun, scores: Optional[dict] = None, *, evaluate: bool = True) -> None:
    """Evaluate on the dev set (rank 0; every process takes part in the sums), log, save model-last and, if the
    score improved, model-best. With evaluate False and no scores (a second stop signal cut the evaluation
    short), model-last is saved unscored. Non-finite weights are never saved over a good model."""
    state = run.state
    losses = _losses_since_evaluation(run)
    state.total_words += state.words_since_eval
    if run.process.is_main:
        if scores is None and evaluate:
            scores = evaluate_dev(run)
        score = combined_score(scores, run.nlp.config["training"]["score_weights"]) if scores else None
        is_best = score is not None and (state.best_score is None or score > state.best_score)
        if scores is not None:
            # A dev set without one head's annotation scores it None (no entities, say); spaCy's loggers
            # cannot print None and would end the run before anything is saved, so they are shown as 0.
            shown = {key: 0.0 if value is None else value for key, value in scores.items()}
            run.log_step({"epoch": state.epoch, "step": state.step, "score": score, "other_scores": shown,
                          "losses": losses, "checkpoints": [], "seconds": int(state.seconds_since_eval),
                          "words": state.total_words})
        if run.output is not None:
            saved_best = _save_pipeline(run, scores, also_best=is_best)
            append_record(run.output.log, {
                "step": state.step, "epoch": state.epoch, "score": score, "losses": losses,
                "scores": {k: v for k, v in (scores or {}).items() if isinstance(v, (int, float))},
                "words_per_second": round(state.words_since_eval / max(state.seconds_since_eval, 1e-9), 1),
                "best": saved_best})
        if is_best:
            state.best_score, state.best_step = score, state.step
    state.last_eval_step = state.step
    state.words_since_eval, state.seconds_since_eval = 0, 0.0
    run.trainer.losses.clear()
    _sync_best(run)


def _losses_since_evaluation(run: TrainingRun) -> dict:
    """Mean loss per step since the last evaluation, for every component (0 for a frozen head or one whose
    annotation no batch carried). Heads' sums are already over all processes; the rest is averaged."""
    names = run.nlp.pipe_names
    heads = {head.name for head in run.trainer.heads}
    values = torch.tensor([run.trainer.losses.get(n, 0.0) for n in names], dtype=torch.float64)
    if run.process.distributed:
        local = torch.tensor([0.0 if n in heads else 1.0 for n in names], dtype=torch.float64)
        summed = distributed.sum_(values * local, run.process) / run.process.world_size
        values = torch.where(local > 0, summed, values)
    steps_since = max(1, run.state.step - run.state.last_eval_step)
    return {name: value / steps_since for name, value in zip(names, values.tolist())}


def _sync_best(run: TrainingRun) -> None:
    """Other processes keep rank 0's best step, for patience and for their checkpoints' consistency."""
    if run.process.distributed:
        best = distributed.sum_(_tensor(run.state.best_step if run.process.is_main else 0), run.process)
        run.state.best_step = int(best.item())


def _save_pipeline(run: TrainingRun, scores: Optional[dict], *, also_best: bool) -> bool:
    """Save model-last (and model-best); returns whether model-best was written."""
    if not all_finite(run.nlp):
        run.warn(Warnings.W303.format(step=run.state.step, target=run.output.last.name))
        return False
    if scores is not None:
        run.nlp.meta["performance"] = {k: v for k, v in scores.items() if not k.endswith("per_type")}
    save_atomically(run.nlp, run.output.last)
    if also_best:
        save_atomically(run.nlp, run.output.best)
    return also_best


def save_checkpoint(run: TrainingRun) -> None:
    tensors, info = snapshot(run.trainer, run.state, run.stream, run.process)
    # Every process's weights are the same, so every process takes the same decision here.
    if all_finite(run.nlp):
        if run.process.is_main and run.output is not None:
            write_checkpoint(run.output.checkpoint, run.nlp, tensors, info, run.raw.to_str())
        run.state.last_checkpoint_step = run.state.step


def finish(run: TrainingRun, ending: str, detail, stop: StopRequest) -> Optional[Path]:
    """Evaluate and save what the last steps did, tell the user how the run ended, and raise for the endings
    that are failures or interruptions."""
    state, output = run.state, run.output
    # After an error or a second signal, other processes may be waiting in a collective the failed one will
    # never join: save from rank 0 alone, and no checkpoint (a step may have been cut short).
    alone = ending == HARD_STOP or (ending == ERROR and (run.process.distributed or not run.clean_boundary))
    if not alone and state.step > state.last_checkpoint_step:
        save_checkpoint(run)
    if state.step > state.last_eval_step:
        if alone or ending == ERROR:
            if run.process.is_main and output is not None:
                _save_pipeline(run, None, also_best=False)
        else:
            scores = None
            if run.process.is_main:
                try:
                    scores = evaluate_dev(run)
                except KeyboardInterrupt:
                    scores = None  # a second signal: save without scores
            evaluate_and_save(run, scores, evaluate=False)
    run.finalize()
    if output is not None and run.process.is_main and output.log.exists():
        plot_training_log(output.log, output.plot)
    saved = _saved_message(run)
    if ending == EPOCHS:
        run.say(f"The training data ran out (max_epochs {run.T['max_epochs']}) at step {state.step}. {saved}\n")
    elif ending == PATIENCE:
        run.say(f"No improvement for {run.T['patience']} steps: stopped at step {state.step}. {saved}\n")
    elif ending == SIGNAL:
        raise TrainingStopped(f"{stop.name} at step {state.step}. {saved}", stop.exit_code)
    elif ending == HARD_STOP:
        raise TrainingStopped(f"Stopped at once during step {state.step + 1}. {saved}", stop.exit_code or 130)
    elif ending == NON_FINITE:
        step, heads = detail
        raise TrftrainError(Errors.E310.format(step=step, heads=", ".join(heads), value="NaN or infinite",
                                               saved=saved))
    elif ending == ERROR:
        run.say(f"\nTraining failed at step {state.step + 1}. {saved}\n")
        raise detail
    if output is None:
        return None
    return output.best if output.best.exists() else output.last if output.last.exists() else None


def _saved_message(run: TrainingRun) -> str:
    output = run.output
    if output is None:
        return ""
    found = [str(p) for p in (output.best, output.last) if p.exists()]
    if output.checkpoint.exists():
        found.append(f"{output.checkpoint} (step {run.state.last_checkpoint_step}; continue with --resume)")
    if not found:
        return f"Nothing was saved in {output.path}."
    return "Saved " + ", ".join(found) + "."
