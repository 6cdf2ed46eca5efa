"""The outer loop: generations of trials on Dask, EvoTorch evaluating the genomes, one Zarr
archive per run.

Each generation: genomes -> trials (groups of `agents_per_trial` individuals, assigned from
the run's seed) -> `run_trial` tasks on the Dask cluster -> per-individual fitness (own hearts,
mean over its trials) and behaviour -> one archived generation -> the next genomes (GA with
lineage, or EvoTorch's CMA-ES / PGPE). Every random draw derives from (seed, generation, ...),
so the result does not depend on worker count or completion order. `--resume` continues from
the GA's snapshot (DIR/state/resume.json, written at the start of every generation) without
replaying the archived generations (CMA-ES and PGPE, or a run without a usable snapshot,
replay them, serving their stored results instead of running trials); either way it gives the
same archive as a run that was never interrupted. Trained weights stay in the run folder
(DIR/weights/g{g}/t{t}.pt, written and read by the workers); the client holds one
generation's index of them. What the client writes (weights index, checkpoints, the archive
append, pruning, the snapshot) goes through one writer thread in that order, so generation
g's files land while generation g + 1's trials run, and a snapshot never names a generation
the archive lacks.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import sys
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from evotorch import Problem, SolutionBatch

from evo.archive import (
    ArchiveError,
    append_generation,
    archive_location,
    complete_generations,
    generation_dataset,
    read_generation,
)
from evo.checkpoint import save_checkpoint
from evo.config import RunConfig
from evo.ga import make_twins, next_generation
from evo.genome import Genome
from evo.lineage import Lineage
from evo.trial import (
    TrialResult,
    derived_rng,
    derived_seed,
    load_weights,
    run_trial,
    save_weights,
    trial_batch,
)
from kinevo.faults import atomic_save_arrays, atomic_write_text, remove
from kinship.pedigree import Pedigree
from kinship.structures import blind_kinship, build_kinship
from world.layout import COUNTERS

logging.getLogger("evotorch").setLevel(logging.WARNING)  # its per-problem INFO lines are noise here


# A task that raises is rerun this many times before the run stops (a worker that dies is
# handled by Dask: its tasks move to other workers, up to `distributed.scheduler.allowed-failures`).
TRIAL_RETRIES = 2


# The resume snapshot (DIR/state/resume.json), and the lineage fields it holds.
STATE_FORMAT = "kinevo-resume-1"
LINEAGE_FIELDS = ("uid", "parent_a", "parent_b", "born", "source")
# The pedigree's part of the snapshot (DIR/state/pedigree.npz) is a matrix over the living,
# 400 MB at 10,000 individuals: it is written about this many bytes a generation on average
# (every generation below 4,096 individuals, every 6th at 10,000) and after the last
# generation. A resume restores the latest one and adds the generations archived after it.
PEDIGREE_SNAPSHOT_BYTES = 64 * 2**20


class TrialFailed(RuntimeError):
    """A trial kept failing; the message names the generation, trial and seed."""


def run_id(cfg: RunConfig) -> str:
    """Names this run's Dask tasks: a hash of the config (seed included) and the start time and
    process, so two runs sharing a scheduler, even of one config and seed, never share a task.
    Keys do not enter any result."""
    digest = hashlib.sha256(config_fingerprint(cfg).encode()).hexdigest()[:10]
    return f"{digest}-{time.time_ns():x}-{os.getpid()}"


class _GenerationProblem(Problem):
    """EvoTorch's view: maximise fitness over the unit cube; evaluating a batch runs one
    generation of trials (or replays it from the archive). The GA's problem carries the
    cube as its bounds; EvoTorch's CMA-ES and PGPE refuse a bounded problem
    (`Problem.ensure_unbounded`), so theirs starts in the cube and `Genome.decode` folds
    their points back into it."""

    def __init__(self, evolution: Evolution, dim: int, bounded: bool):
        cube = (0.0, 1.0)
        super().__init__(
            "max", solution_length=dim, bounds=cube if bounded else None,
            initial_bounds=None if bounded else cube, dtype=torch.float64,
        )  # fmt: skip
        self.evolution = evolution

    def _evaluate_batch(self, batch: SolutionBatch) -> None:
        u = batch.values.detach().cpu().numpy().astype(np.float64)
        batch.set_evals(torch.as_tensor(self.evolution.evaluate(u), dtype=torch.float64))


class Evolution:
    def __init__(
        self,
        cfg: RunConfig,
        out: Path,
        client,
        log=print,
        progress: bool = True,
        trial=run_trial,
        on_commit=None,
        archive: str | Path | None = None,
    ):
        """trial: the task each trial runs, `run_trial`'s signature and result (a stub for
        evo.bench_scale); it must be importable by the workers. on_commit(g): called in the
        writer thread once generation g is in the archive. archive: where the archive lives,
        a folder or an fsspec URL (default OUT/archive.zarr); the run's other files (weights,
        checkpoints, snapshot) stay in `out`."""
        self.cfg = cfg
        self.trial = trial
        self.out = Path(out)
        self.archive = archive_location(self.out / "archive.zarr" if archive is None else archive)
        self.client = client
        self.log = log
        self.progress = progress
        self.genome = Genome(cfg.genes)
        # only pedigree kinship reads the pedigree
        self.pedigree = Pedigree() if cfg.kinship.kind == "pedigree" else None
        self._pedigree_saved_at = 0  # the generation of the pedigree.npz on disk
        self.generation = 0
        self.done = complete_generations(self.archive)
        self.lineage = Lineage.founders(np.arange(cfg.population.size), 0)
        self.mates = np.full(cfg.population.size, -1, np.int64)
        # uid -> where its weights are (policy inheritance): a WeightsRef relative to `out`,
        # or a state dict
        self.weights: dict[int, object] = {}
        self.rows: list[dict] = []
        # twin group of each individual (population.relatedness): the uid of the trial
        # member its genome copies, or its own when copied; -1 without a twin
        self.twin_group = np.full(cfg.population.size, -1, np.int64)
        self.run_id = run_id(cfg)
        self.on_commit = on_commit
        # What the client writes (weights index, checkpoints, archive, pruning, snapshot)
        # goes through one background thread, in submission order, so a generation's files
        # land while the next generation's trials run; see `_commit`.
        self._writer: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []
        self._write_error: BaseException | None = None
        self._trials_wall_s = 0.0

    # -- the search ----------------------------------------------------------------------------
    def run(self) -> list[dict]:
        try:
            self._search()
        except BaseException:
            self._drain(quiet=True)  # what was handed to the writer lands before we stop
            raise
        self._drain()
        return self.rows

    def _search(self) -> None:
        cfg = self.cfg
        P, G = cfg.population.size, cfg.population.generations
        problem = _GenerationProblem(self, len(self.genome), cfg.evolution.algorithm == "ga")
        if cfg.evolution.algorithm == "ga":
            u = self.genome.initial(P, derived_rng(cfg.seed, 0, 1))
            next_uid, start = P, 0
            resumed = self._load_state()
            if resumed is not None:
                start, u, self.lineage, next_uid = resumed
                self._jump_to(start)
            for g in range(start, G):
                self.generation = g
                if cfg.population.relatedness is not None:
                    u, self.lineage, self.twin_group = make_twins(
                        u, self.lineage, self._assign_trials(g), g, cfg.population.relatedness,
                        derived_rng(cfg.seed, g, 8),
                    )  # fmt: skip
                batch = SolutionBatch(problem, popsize=P, empty=True)
                batch.set_values(torch.as_tensor(u))
                problem.evaluate(batch)
                fitness = batch.evals[:, 0].numpy()
                u, self.lineage = next_generation(
                    u, fitness, self.lineage, self.mates, g, next_uid, cfg.evolution,
                    derived_rng(cfg.seed, g, 2),
                )  # fmt: skip
                next_uid += int((self.lineage.born == g + 1).sum())
                if cfg.evolution.shuffle_genes:  # the control: genomes move, weights stay
                    u = u[derived_rng(cfg.seed, g, 7).permutation(P)]
                # bred even after the last generation, so that a resume with more
                # generations starts from the snapshot; written after generation g's files.
                # The pedigree's matrix is copied now: the next generation reuses buffers.
                kin = None
                if self.pedigree is not None and self._pedigree_snapshot_due(g + 1):
                    kin, self._pedigree_saved_at = self.pedigree.state(), g + 1
                self._commit(self._save_state, g + 1, u.copy(), next_uid, self.lineage, kin)
        else:
            from evotorch.algorithms import CMAES, PGPE

            # the problem's own generator, not torch's global one that other runs share
            problem.manual_seed(derived_seed(cfg.seed, 0, 3))
            center = torch.full((len(self.genome),), 0.5, dtype=torch.float64)
            stdev = cfg.evolution.stdev_init
            if cfg.evolution.algorithm == "cmaes":
                searcher = CMAES(problem, stdev_init=stdev, popsize=P, center_init=center)
            else:
                searcher = PGPE(
                    problem, popsize=P, center_learning_rate=0.5, stdev_learning_rate=0.1,
                    stdev_init=stdev, center_init=center,
                )  # fmt: skip
            for g in range(G):
                self.generation = g
                self.lineage = Lineage.founders(np.arange(g * P, (g + 1) * P), g)
                searcher.step()

    # -- one generation ------------------------------------------------------------------------
    def evaluate(self, u: np.ndarray) -> np.ndarray:
        g, lin = self.generation, self.lineage
        self._update_pedigree(lin)
        if g < self.done:
            return self._replay(g, u)
        genes = self.genome.decode(u)
        t0 = time.perf_counter()
        trials = self._assign_trials(g)
        results = self._run_trials(g, genes, trials)
        fitness = self._record(g, u, genes, trials, results, time.perf_counter() - t0)
        return fitness

    def _update_pedigree(self, lin: Lineage) -> None:
        if self.pedigree is None:
            return
        new = [k for k, x in enumerate(lin.uid) if int(x) not in self.pedigree]
        if new:
            self.pedigree.add(
                lin.uid[new], lin.parent_a[new], lin.parent_b[new], generation=int(self.generation)
            )
        alive = {int(x) for x in lin.uid}  # only the living can parent the next generation
        self.pedigree.retire([u for u in self.pedigree.active if u not in alive])

    def _assign_trials(self, g: int) -> list[np.ndarray]:
        p = self.cfg.population
        rng = derived_rng(self.cfg.seed, g, 4)
        trials = []
        for _ in range(p.trials_per_individual):
            perm = rng.permutation(p.size)
            trials += [
                perm[k : k + p.agents_per_trial] for k in range(0, p.size, p.agents_per_trial)
            ]
        return trials

    def _run_trials(self, g: int, genes: np.ndarray, trials: list[np.ndarray]) -> list[TrialResult]:
        """Submit generation g's trials, `population.trials_per_task` to a Dask task, each task
        asking for a GPU (`resources={"GPU": 1}`) when `ppo.device` is cuda, and gather their
        results in trial order."""
        cfg, lin = self.cfg, self.lineage
        names = self.genome.names
        lamarckian = cfg.evolution.inheritance == "lamarckian"
        want_weights = cfg.evolution.checkpoint_top > 0 or lamarckian
        jobs, seeds = [], []
        out, weights_dir = self.out.resolve(), self._weights_dir(g).resolve()  # once: syscalls
        pedigree_K = None
        if self.pedigree is not None and len({len(m) for m in trials}) == 1:
            pedigree_K = self.pedigree.relatedness_many(lin.uid[np.stack(trials)])  # one call
        for t, members in enumerate(trials):
            uids = lin.uid[members]
            seed = derived_seed(cfg.seed, g, 5, t)
            if pedigree_K is not None:
                K = pedigree_K[t]
            else:
                K = build_kinship(
                    cfg.kinship,
                    len(members),
                    derived_rng(cfg.seed, g, 6, t),
                    self.pedigree,
                    uids.tolist(),
                    self.twin_group[members],
                )
            init = self._initial_states(g, lin.source[members])
            if init and isinstance(init[0], tuple):  # references, for the worker to read
                init = [(str(out / path), group) for path, group in init]
            jobs.append(
                dict(
                    init_weights=init,
                    weights_to=str(weights_dir / f"t{t}.pt") if want_weights else None,
                    genes={n: genes[members, k] for k, n in enumerate(names)},
                    uids=uids,
                    seed=seed,
                    kinship_matrix=K,
                )
            )
            seeds.append(seed)
        if cfg.kinship.blind:
            blind = blind_kinship(np.stack([job["kinship_matrix"] for job in jobs]))
            for job, K in zip(jobs, blind, strict=True):
                job["kinship_matrix"] = K
        per = cfg.population.trials_per_task
        gpu = {"GPU": 1} if cfg.ppo.device == "cuda" else None
        firsts = list(range(0, len(jobs), per))
        shared = dict(
            trial=self.trial, world=cfg.world, ppo=cfg.ppo, kinship=cfg.kinship,
            fitness=cfg.fitness,
        )  # fmt: skip
        t_submit = time.perf_counter()
        futures = self.client.map(  # one message to the scheduler for the generation
            trial_batch, [jobs[t : t + per] for t in firsts], shared=shared,
            key=[f"trial-{self.run_id}-g{g}-t{t}" for t in firsts], pure=False,
            retries=TRIAL_RETRIES, resources=gpu,
        )  # fmt: skip
        results = self._gather(g, futures, firsts, seeds, len(jobs))
        self._trials_wall_s = time.perf_counter() - t_submit
        return results

    def _gather(
        self, g: int, futures: list, firsts: list[int], seeds: list[int], n: int
    ) -> list[TrialResult]:
        """Results of the tasks `futures` (task k runs trials firsts[k].., one result or a
        list of them), in trial order."""
        from distributed import as_completed
        from tqdm import tqdm

        index = {f.key: k for k, f in enumerate(futures)}
        results: list[TrialResult | None] = [None] * n
        bar = tqdm(
            total=n, desc=f"generation {g}", unit="trial", file=sys.stderr,
            disable=not self.progress, leave=False,
        )  # fmt: skip
        steps, t0 = 0, time.perf_counter()
        # Results are fetched a batch of finished tasks at a time: one round trip to the
        # cluster per batch rather than one per task (8 ms each at 250 tasks a generation).
        for batch in as_completed(futures).batches():
            try:  # the last generation's files failed to land: stop now, not a generation on
                self._check_writes()
            except BaseException:
                for other in futures:
                    other.cancel()
                bar.close()
                raise
            for fut in batch:  # a lost result (its worker died) is recomputed by gather
                if fut.status in ("error", "cancelled"):
                    self._raise_failed(g, fut, futures, firsts, seeds, n, index, bar)
            for fut, got in zip(batch, self.client.gather(batch), strict=True):
                t = firsts[index[fut.key]]
                for j, r in enumerate(got):
                    results[t + j] = r
                    steps += r.agent_steps
                    bar.update(1)
            bar.set_postfix(steps_s=f"{steps / (time.perf_counter() - t0):.0f}")
        bar.close()
        return results  # type: ignore[return-value]

    def _raise_failed(self, g, fut, futures, firsts, seeds, n, index, bar) -> None:
        """Cancel the generation and raise `TrialFailed` for the task `fut`, which raised
        TRIAL_RETRIES + 1 times, whose workers died as often, or which was cancelled."""
        k = index[fut.key]
        t = firsts[k]
        how = (
            "was cancelled"
            if fut.status == "cancelled"
            else f"failed after {TRIAL_RETRIES} retries"
        )
        try:
            fut.result()
            err: BaseException = RuntimeError(f"task ended as {fut.status!r}")
        except Exception as raised:
            err = raised
        for other in futures:
            other.cancel()
        bar.close()
        last = firsts[k + 1] - 1 if k + 1 < len(firsts) else n - 1
        which = (
            f"trial {t} (seed {seeds[t]})"
            if last == t
            else f"trials {t}..{last} (seeds {', '.join(map(str, seeds[t : last + 1]))})"
        )
        raise TrialFailed(
            f"generation {g}, {which} {how}: {type(err).__name__}: {err}. "
            f"Generations 0..{g - 1} are in "
            f"{self.archive}; fix the cause and continue with --resume"
        ) from err

    def _initial_states(self, g: int, source_uids: np.ndarray) -> list[dict] | None:
        """The weights a trial's slots start from: None (fresh weights) when darwinian or in
        generation 0; when lamarckian, each slot's source's weights from its best trial."""
        if self.cfg.evolution.inheritance != "lamarckian" or g == 0:
            return None
        states = [self.weights[int(u)] for u in source_uids]
        if self.cfg.ppo.mode == "shared":
            return states[:1]
        return states

    # -- archive ---------------------------------------------------------------------------
    def _record(self, g, u, genes, trials, results, seconds) -> np.ndarray:
        """Archive generation g (the schema is evo.archive's) and return its fitness."""
        cfg, lin = self.cfg, self.lineage
        P, n = cfg.population.size, cfg.population.agents_per_trial
        fit_sum, train_sum, plays = np.zeros(P), np.zeros(P), np.zeros(P)
        curve = np.zeros((P, results[0].curve_hearts.shape[1]))
        trial_fitness = np.zeros((len(trials), n))
        best_trial, best_fit = np.full(P, -1, np.int64), np.full(P, -np.inf)
        counters = np.zeros((P, len(COUNTERS)), np.int64)
        partners: list[Counter] = [Counter() for _ in range(P)]
        row_of = lin.row_of()
        trial_uids = np.zeros((len(trials), n), np.int64)
        kinship = np.zeros((len(trials), n, n), np.float32)
        energy_given = np.zeros((len(trials), n, n), np.int64)
        diamonds_given = np.zeros((len(trials), n, n), np.int64)
        for t, (members, r) in enumerate(zip(trials, results, strict=True)):
            fit_sum[members] += r.fitness
            train_sum[members] += r.training_fitness
            curve[members] += r.curve_hearts
            plays[members] += 1
            trial_fitness[t] = r.fitness
            better = r.fitness > best_fit[members]
            best_trial[members[better]] = t
            best_fit[members[better]] = r.fitness[better]
            counters[members] += np.stack([r.counters[c] for c in COUNTERS], axis=1)
            for a, b in r.bonds:
                partners[row_of[int(a)]][int(b)] += 1
                partners[row_of[int(b)]][int(a)] += 1
            trial_uids[t] = r.uids
            kinship[t] = r.kinship
            energy_given[t], diamonds_given[t] = r.energy_given, r.diamonds_given
        fitness = fit_sum / plays
        mate = np.array(
            [min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] if c else -1 for c in partners],
            np.int64,
        )
        agent_steps = sum(r.agent_steps for r in results)
        index, checkpoints = self._keep_weights(g, trials, results, fitness, genes, best_trial)
        values = {
            "uid": lin.uid,
            "genome": genes,
            "search_point": u,
            "fitness": fitness,
            "training_fitness": train_sum / plays,
            "curve": curve / plays[:, None],
            "weights_trial": best_trial,
            "parent_a": lin.parent_a,
            "parent_b": lin.parent_b,
            "born": lin.born,
            "mate": mate,
            "twin_group": self.twin_group,
            "counters": counters,
            "trial_uids": trial_uids,
            "kinship": kinship,
            "trial_fitness": trial_fitness,
            "energy_given": energy_given,
            "diamonds_given": diamonds_given,
            "best_fitness": fitness.max(),
            "mean_fitness": fitness.mean(),
            "gene_mean": genes.mean(0),
            "bonds": sum(len(r.bonds) for r in results),
            "nan_skips": sum(int(r.nan_skips.sum()) for r in results),
            "seconds": seconds,
            "agent_steps_per_s": agent_steps / max(seconds, 1e-9),
        }
        self.mates = mate
        self._report_values(g, fitness, genes, values["bonds"], counters)
        timing = self.rows[-1]["timing"] = {
            "generation_s": seconds,
            "trials_s": float(sum(r.seconds for r in results)),
            # from handing the trials to the cluster to holding their last result
            "trials_wall_s": self._trials_wall_s,
            "trials": len(results),
        }
        self._commit(self._write_generation, g, values, index, checkpoints, timing)
        return fitness

    def _write_generation(self, g, values, index, checkpoints, timing) -> None:
        """Generation g's files, in the writer thread: the weights index and checkpoints,
        then the archive (the commit), then pruning of what the commit makes obsolete."""
        ds = generation_dataset(g, values, self.genome.names)
        if index is not None:
            atomic_write_text(self.out / "weights" / f"g{g}.json", json.dumps(index))
        for args in checkpoints:
            states = load_weights(args["weights"])
            save_checkpoint(states=states, **{k: v for k, v in args.items() if k != "weights"})
        attrs = {"config": self.cfg.model_dump_json(), "seed": self.cfg.seed, **package_versions()}
        t_write = time.perf_counter()
        append_generation(self.archive, ds, attrs)
        timing["archive_write_s"] = time.perf_counter() - t_write
        self._prune(g)
        if self.on_commit is not None:
            self.on_commit(g)

    # -- the writer thread ------------------------------------------------------------------
    def _commit(self, write, *args) -> None:
        """Run `write(*args)` in the writer thread, after every write handed over before it.
        The loop goes on meanwhile (the next generation's trials start), so a generation's
        files cost the loop nothing when trials take longer than writing them. Order is what
        keeps a run resumable: generation g's archive append, then the snapshot that says
        it is done; an error surfaces at the next `_check_writes` or `_drain`."""
        self._check_writes()
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="kinevo-writer")
            self._write_error = None
        self._pending.append(self._writer.submit(self._write_after_ok, write, args))

    def _write_after_ok(self, write, args) -> None:
        """In the writer thread: `write(*args)` unless an earlier write failed (then nothing
        after it lands: a snapshot must never claim a generation the archive lacks)."""
        if self._write_error is not None:
            raise self._write_error
        try:
            write(*args)
        except BaseException as err:
            self._write_error = err
            raise

    def _check_writes(self) -> None:
        """Raise the error of a write that failed (without waiting for the others)."""
        while self._pending and self._pending[0].done():
            self._pending.pop(0).result()

    def _drain(self, quiet: bool = False) -> None:
        """Wait for every write handed over; raise the first error (`quiet`: swallow it, for
        a run already stopping on another error) and shut the writer thread down."""
        pending, self._pending = self._pending, []
        error = None
        for fut in pending:
            try:
                fut.result()
            except BaseException as err:  # noqa: BLE001 - re-raised below unless quiet
                error = error or err
        if self._writer is not None:
            self._writer.shutdown()
            self._writer = None
        if error is not None and not quiet:
            raise error

    # -- resume in constant time (GA) ---------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.out / "state" / "resume.json"

    @property
    def pedigree_path(self) -> Path:
        return self.out / "state" / "pedigree.npz"

    def _pedigree_snapshot_due(self, g: int) -> bool:
        """Whether the snapshot taken after generation g-1 includes the pedigree: after the
        run's last generation (a longer resume starts there), else every k-th generation, k
        such that a generation writes about `PEDIGREE_SNAPSHOT_BYTES` on average."""
        if g >= self.cfg.population.generations:
            return True
        m = len(self.pedigree.active) + 1  # the matrix's side: the living and the unknown
        every = max(1, -(-4 * m * m // PEDIGREE_SNAPSHOT_BYTES))  # float32 entries
        return g - self._pedigree_saved_at >= every

    def _save_state(
        self, g: int, u: np.ndarray, next_uid: int, lin: Lineage, kin: dict | None = None
    ) -> None:
        """The GA's state at the start of generation g (generations 0..g-1 committed, written
        right after the last of them, by the writer thread): its search points, lineage and
        next uid, as JSON (floats round-trip exactly); and, when given, the pedigree's
        `state()` in DIR/state/pedigree.npz, written first and stamped with g and the config
        (else the pedigree.npz of an earlier generation stays)."""
        fingerprint = config_fingerprint(self.cfg)
        if kin is not None:
            atomic_save_arrays(
                self.pedigree_path, generation=np.int64(g), fingerprint=np.array(fingerprint),
                **kin,
            )  # fmt: skip
        state = {
            "format": STATE_FORMAT,
            "fingerprint": fingerprint,
            "generation": g,
            "search_point": u.tolist(),
            "next_uid": int(next_uid),
            **{k: getattr(lin, k).tolist() for k in LINEAGE_FIELDS},
        }
        atomic_write_text(self.state_path, json.dumps(state))

    def _load_state(self) -> tuple[int, np.ndarray, Lineage, int] | None:
        """(generation, search points, lineage, next uid) of the snapshot to continue from, or
        None to replay from generation 0 (no snapshot, another config, or a snapshot ahead of
        the archive). The snapshot may lag the archive by a generation (killed between the
        commit and the snapshot): those generations are replayed from the archive."""
        if self.done == 0 or not self.state_path.exists():
            return None
        try:
            state = json.loads(self.state_path.read_text())
            ok = (
                state.get("format") == STATE_FORMAT
                and state.get("fingerprint") == config_fingerprint(self.cfg)
                and 1 <= int(state["generation"]) <= self.done
            )
            if not ok:
                return None
            u = np.array(state["search_point"], np.float64)
            lin = Lineage(**{k: np.array(state[k], np.int64) for k in LINEAGE_FIELDS})
        except (ValueError, KeyError, TypeError):  # unreadable: replay instead
            return None
        if u.shape != (self.cfg.population.size, len(self.genome)):
            return None
        return int(state["generation"]), u, lin, int(state["next_uid"])

    def _jump_to(self, g: int) -> None:
        """Rebuild what generation g needs from generations 0..g-1 without replaying them:
        the pedigree (pedigree kinship only; see `_restore_pedigree`); the inherited weights
        from generation g-1's weights file (the last committed generation's; a snapshot
        behind the archive replays the rest); and generation g-1's progress row."""
        from evo.archive import open_archive

        ds = open_archive(self.archive)
        if self.pedigree is not None:
            self._restore_pedigree(ds, g)
        last = ds.isel(generation=g - 1).load()
        self.mates = last.mate.values.astype(np.int64)
        if self.cfg.evolution.inheritance == "lamarckian" and g == self.done:
            self.weights = self._load_weights(g - 1)  # else the replay loads later ones
        self._report(g - 1, last, replayed=True)

    def _restore_pedigree(self, ds: xr.Dataset, g: int) -> None:
        """The pedigree as it was after generation g-1: the matrix of the latest pedigree.npz
        (written after generation g0-1, g0 <= g) and its lineage record from the archive's
        uid and parents of generations 0..g0-1 (one read of each, in the order the run added
        them: each uid where it first appears), then generations g0..g-1 added one by one.
        Without a usable pedigree.npz (another config, or one ahead of resume.json: killed
        between the two snapshot files), every archived generation is added and retired
        through Pedigree's public add/retire, which gives the same pedigree in time linear in
        the generations."""
        uid, pa, pb, born = (
            ds[k].isel(generation=slice(0, g)).values
            for k in ("uid", "parent_a", "parent_b", "born")
        )
        start = 0
        saved = self._load_pedigree_state(g)
        if saved is not None:
            g0, kin = saved
            flat = uid[:g0].reshape(-1)
            first = np.sort(np.unique(flat, return_index=True)[1])
            records = (flat[first], pa[:g0].reshape(-1)[first], pb[:g0].reshape(-1)[first],
                       first // uid.shape[1])  # fmt: skip
            try:
                self.pedigree = Pedigree.restore(records, kin["active"], kin["coefficients"])
                start = self._pedigree_saved_at = g0
            except ValueError:  # not a state of this archive's pedigree: rebuild instead
                pass
        for k in range(start, g):
            self.generation = k
            self._update_pedigree(Lineage(uid[k], pa[k], pb[k], born[k], uid[k]))  # source unused

    def _load_pedigree_state(self, g: int) -> tuple[int, dict[str, np.ndarray]] | None:
        """(g0, pedigree.npz's arrays) if it was written after generation g0-1 of this config,
        1 <= g0 <= g; else None."""
        try:
            with np.load(self.pedigree_path, allow_pickle=False) as z:
                g0 = int(z["generation"])
                if not 1 <= g0 <= g or str(z["fingerprint"]) != config_fingerprint(self.cfg):
                    return None
                return g0, {"active": z["active"], "coefficients": z["coefficients"]}
        except (OSError, ValueError, KeyError):  # missing or unreadable: rebuild instead
            return None

    def _load_weights(self, g: int) -> dict[int, tuple[str, int]]:
        """Generation g's weights index: uid -> (file relative to the run folder, group)."""
        return weights_index(self.out / "weights" / f"g{g}.json")

    def _replay(self, g: int, u: np.ndarray) -> np.ndarray:
        ds = read_generation(self.archive, g)
        if not (
            np.array_equal(ds.uid.values, self.lineage.uid)
            and np.allclose(ds.search_point.values, u, atol=1e-12)
        ):
            raise ArchiveError(
                f"{self.archive}: generation {g} in the archive does not match this config and "
                "seed; refusing to mix runs"
            )
        self.mates = ds.mate.values.astype(np.int64)
        if self.cfg.evolution.inheritance == "lamarckian" and g == self.done - 1:
            self.weights = self._load_weights(g)  # the next generation starts from these
        self._report(g, ds, replayed=True)
        return ds.fitness.values

    def _weights_dir(self, g: int) -> Path:
        return self.out / "weights" / f"g{g}"

    def _keep_weights(
        self, g, trials, results, fitness, genes, best_trial
    ) -> tuple[dict | None, list[dict]]:
        """Note where each individual's trained weights from its best trial (`best_trial[k]`)
        are, for lamarckian inheritance, and say what to write for them: the index
        weights/g{g}.json (uid -> [file, group]; None when not lamarckian) and the
        `save_checkpoint` arguments of the best individuals. The weights stay in the trials'
        files (weights/g{g}/t{t}.pt, written by the workers); results that carry them in
        memory (a trial called directly) are saved there first."""
        cfg, lin = self.cfg, self.lineage
        if not results or (results[0].weights is None and results[0].weights_file is None):
            return None, []
        files = []  # relative to the run folder
        for t, r in enumerate(results):
            if r.weights_file is None:
                save_weights(r.weights, self._weights_dir(g) / f"t{t}.pt")
                r.weights, r.weights_file = None, str(self._weights_dir(g) / f"t{t}.pt")
            files.append(f"weights/g{g}/t{t}.pt")
        by_uid: dict[int, tuple[str, int]] = {}
        shared = cfg.ppo.mode == "shared"
        for k, t in enumerate(best_trial):
            slot = 0 if shared else int(np.flatnonzero(trials[t] == k)[0])
            by_uid[int(lin.uid[k])] = (str(files[t]), slot)
        index = None
        if cfg.evolution.inheritance == "lamarckian":
            self.weights = by_uid
            index = {str(u): [path, slot] for u, (path, slot) in by_uid.items()}
        checkpoints = []
        top = np.lexsort((lin.uid, -fitness))[: cfg.evolution.checkpoint_top]
        for k in top:
            u = int(lin.uid[k])
            path, slot = by_uid[u]
            checkpoints.append(
                dict(
                    path=self.out / "checkpoints" / f"g{g:04d}_uid{u}",
                    world=cfg.world,
                    ppo=cfg.ppo.model_copy(update={"mode": "shared"}),
                    weights=[(str(self.out / path), slot)],  # read by the writer
                    genes={name: [float(genes[k, j])] for j, name in enumerate(self.genome.names)},
                    uids=[u],
                    generation=g,
                    fitness=float(fitness[k]),
                )
            )
        return index, checkpoints

    # -- retention -----------------------------------------------------------------------------
    def _prune(self, g: int) -> None:
        """Generation g is committed: delete the weights (weights/g{k}/ and its index
        weights/g{k}.json) and checkpoints of earlier generations k but every
        `keep_weights_every`-th and `keep_checkpoints_every`-th. --resume needs only the last
        committed generation's weights."""
        ev = self.cfg.evolution
        for folder, every in (
            ("weights", ev.keep_weights_every),
            ("checkpoints", ev.keep_checkpoints_every),
        ):
            if every == 1:
                continue
            for path in sorted((self.out / folder).glob("g*")):
                k = _generation_of(path.name.split("_")[0].split(".")[0])
                if k is None or k >= g or (every and k % every == 0):
                    continue
                if path.is_dir():
                    for f in sorted(path.iterdir()):
                        remove(f)
                    path.rmdir()
                else:
                    remove(path)

    def _report(self, g: int, ds: xr.Dataset, replayed: bool = False) -> None:
        """One progress row and log line from one archived generation (no generation axis)."""
        self._report_values(
            g, ds.fitness.values, ds.genome.values, int(ds.bonds), ds.counters.values, replayed
        )

    def _report_values(self, g, fitness, genome, bonds, counters, replayed=False) -> None:
        """`_report` from the arrays: fitness [P], genome [P, genes], counters [P, COUNTERS]."""
        row = {
            "generation": g,
            "best": float(fitness.max()),
            "mean": float(fitness.mean()),
            **{f"mean_{n}": float(genome[:, k].mean()) for k, n in enumerate(self.genome.names)},
            "bonds": int(bonds),
            "attacks": int(counters[:, COUNTERS.index("attacks_made")].sum()),
            "energy_shared": int(counters[:, COUNTERS.index("energy_shared_given")].sum()),
        }
        self.rows.append(row)
        genes_txt = " ".join(f"{n} {row['mean_' + n]:.3g}" for n in self.genome.names)
        self.log(
            f"gen {g:3d}{' (archived)' if replayed else ''}: best {row['best']:.3f} "
            f"mean {row['mean']:.3f} | {genes_txt} | bonds {row['bonds']} "
            f"attacks {row['attacks']} shared {row['energy_shared']}"
        )


def weights_index(path: Path) -> dict[int, tuple[str, int]]:
    """A generation's weights index (uid -> (file relative to the run folder, group)), or
    ArchiveError naming the file and what is wrong with it."""
    try:
        index = json.loads(Path(path).read_text())
        return {int(u): (str(file), int(slot)) for u, (file, slot) in index.items()}
    except FileNotFoundError:
        raise ArchiveError(f"{path}: missing; the run cannot be resumed from here") from None
    except (OSError, ValueError, TypeError, AttributeError) as err:
        raise ArchiveError(
            f"{path}: not a weights index {{uid: [file, group]}} ({type(err).__name__}: {err})"
        ) from None


def _generation_of(stem: str) -> int | None:
    """12 for 'g12' or 'g0012'; None for a name of another form."""
    digits = stem[1:]
    return int(digits) if stem.startswith("g") and digits.isdigit() else None


@functools.cache  # the installed versions do not change within a process (25 ms a call)
def package_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in (
        "kinevo",
        "numpy",
        "numba",
        "torch",
        "evotorch",
        "dask",
        "distributed",
        "zarr",
        "xarray",
    ):
        try:
            out[f"version_{pkg}"] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def config_fingerprint(cfg: RunConfig) -> str:
    """The config without what may differ between a run and its resumption."""
    data = json.loads(cfg.model_dump_json())
    data["population"].pop("generations", None)
    data["population"].pop("trials_per_task", None)  # how trials are packed, not what they do
    data.pop("workers", None)
    return json.dumps(data, sort_keys=True)
