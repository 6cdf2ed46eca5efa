"""`World`: B envs of N agents stepped together by the Numba kernels.

    world = World(WorldConfig(n_agents=8), n_envs=64, seed=0)
    world.reset()
    for _ in range(1000):
        world.step(actions)          # int[B, N]; fills the buffers below in place
        world.obs                    # uint8[B, N, V, V, C]  (V = 2r+1, C = len(OBS_CHANNELS))
        world.self_obs               # float32[B, N, len(SELF_FEATURES)]
        world.rewards                # float32[B, N]
        world.dones                  # uint8[B], 1 where the episode ended (env already reset)
        world.counters               # int32[B, N, len(COUNTERS)], cumulative since reset()

Buffers are allocated once; `step` allocates nothing and returns nothing.
"""

from __future__ import annotations

import numba
import numpy as np

from kinevo.genes import GENES, check_values
from kinship.sharing import check_kinship
from world import kernels
from world import layout as L
from world.config import WorldConfig
from world.rng import env_seeds
from world.state import (
    SHARED_FIELDS,
    WorldState,
    action_costs,
    allocate,
    params_ref,
    state_ref,
)

_INT32 = np.dtype(np.int32)


class World:
    """A batch of `n_envs` independent envs sharing one config.

    seed: one integer from which each env's RNG seed is derived; or pass `env_seeds`
    (uint64[B]) to give each env its own, e.g. to step one env of a batch alone.
    threads: Numba threads used by `step` when B > 1 (None: Numba's default, all cores). The
    count is set for the whole process and left there: Numba's OpenMP layer shares it with
    other OpenMP users such as torch, which a trial wants at the same count.
    """

    def __init__(
        self,
        config: WorldConfig | None = None,
        n_envs: int = 1,
        seed: int = 0,
        env_seeds: np.ndarray | None = None,
        threads: int | None = None,
    ):
        if n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs}")
        self.config = config if config is not None else WorldConfig()
        self.n_envs = n_envs
        self.seed = seed
        self._env_seeds = _seeds(seed, n_envs, env_seeds)
        self.state, self.params = allocate(self.config, n_envs)
        self._s, self._p = state_ref(self.state), params_ref(self.params)
        self.costs = action_costs(self.config)
        self.threads = threads
        self._step = kernels.step_serial if n_envs == 1 else kernels.step_parallel
        self._action_shape = (n_envs, self.config.n_agents)
        self._reset_done = False

    # -- sizes and names --------------------------------------------------------------------
    @property
    def n_agents(self) -> int:
        return self.config.n_agents

    @property
    def n_actions(self) -> int:
        return self.config.n_actions

    @property
    def action_names(self) -> tuple[str, ...]:
        return self.config.action_names

    @property
    def grid_shape(self) -> tuple[int, int]:
        return (self.params.grid_height, self.params.grid_width)

    # -- buffers (views into the state; valid after every step) ----------------------------
    @property
    def obs(self) -> np.ndarray:
        return self.state.obs

    @property
    def self_obs(self) -> np.ndarray:
        return self.state.self_obs

    @property
    def rewards(self) -> np.ndarray:
        return self.state.rewards

    @property
    def learned_rewards(self) -> np.ndarray:
        """float32[B, N] the rewards agents learn from: own rewards after kin sharing
        (`reward_sharing`) and mate shares. Equal to `rewards` when nothing is shared."""
        return self.state.learned_rewards

    @property
    def dones(self) -> np.ndarray:
        return self.state.dones

    @property
    def counters(self) -> np.ndarray:
        return self.state.counters

    def counter(self, name: str) -> np.ndarray:
        """int32[B, N] view of one named counter (see `layout.COUNTERS`)."""
        return self.state.counters[:, :, L.COUNTERS.index(name)]

    # -- dynamics ---------------------------------------------------------------------------
    def reset(self, kinship: np.ndarray | None = None) -> None:
        """Re-seed every env, lay out fresh maps, zero the counters, write observations.

        kinship: float[B, N, N] (or [N, N] for all envs), checked as in `set_kinship`;
        the matrix set before (identity at first) when None.
        """
        if kinship is not None:
            self.set_kinship(kinship)
        kernels.reset_batch(self._s, self._p, self._env_seeds)
        self._reset_done = True

    def reseed(self, seed: int) -> None:
        """Derive new env seeds from `seed`; takes effect at the next `reset()`."""
        self.seed = seed
        self._env_seeds = _seeds(seed, self.n_envs, None)

    def set_kinship(self, kinship: np.ndarray) -> None:
        """Set the kinship matrix that reward sharing and the observation's kinship channel
        read: float[N, N] (every env) or [B, N, N]. Raises ValueError unless it is finite,
        symmetric, in [0, 1] with K_ii = 1 (`kinship.sharing.check_kinship`)."""
        self.state.kinship[:] = check_kinship(kinship, self.n_agents, self.n_envs)

    def set_genes(self, **genes: np.ndarray) -> None:
        """Per-agent genes the rules read, by name: float[B, N] or [N] (same for every env).

        Every name must be a world gene of `kinevo.genes.GENES` (kin_weight: how much kin
        reward counts; choosiness: lowest partner signal accepted as a mate); values must be
        finite and inside the gene's range. Genes not given keep their values.
        """
        for name in genes:
            if name in GENES and GENES[name].acts_in != "world":
                raise ValueError(f"gene {name} acts in the {GENES[name].acts_in}, not the world")
        shapes = ((self.n_agents,), (self.n_envs, self.n_agents))
        for name, v in check_values(genes, shapes).items():
            getattr(self.state, name)[:] = v

    def read_bonds(self) -> np.ndarray:
        """Bonds formed since the last read, int32[M, 5] rows (env, episode, step, i, j) with
        i < j, in order of formation per env; clears the log. The log grows as needed
        (`bond_log_size` is its initial room), so no bond is ever dropped."""
        s = self.state
        rows = [
            np.column_stack([np.full(n, b, np.int32), s.bond_log[b, :n]])
            for b, n in enumerate(s.bond_log_len)
            if n
        ]
        s.bond_log_len[:] = 0
        return np.concatenate(rows) if rows else np.zeros((0, 5), np.int32)

    def step(self, actions: np.ndarray) -> None:
        """Advance all envs one step. actions: int[B, N] action ids in [0, n_actions) (see
        `action_names`); int32 is used as is, other integer arrays and lists are converted.
        Raises ValueError, stepping nothing, on another shape, a non-integer dtype or an id
        outside the action set."""
        if not self._reset_done:
            raise RuntimeError("call reset() before step()")
        if (
            type(actions) is not np.ndarray
            or actions.dtype is not _INT32
            or actions.shape != self._action_shape
        ):
            actions = self._checked_actions(actions)
        if (
            self.threads is not None
            and self._step is kernels.step_parallel
            and numba.get_num_threads() != self.threads
        ):
            # Set, and deliberately not restored: Numba's OpenMP layer shares its thread count
            # with every OpenMP user of the process (torch included), so restoring Numba's
            # default after each step would hand a one-thread trial's torch all the cores.
            numba.set_num_threads(self.threads)
        status = self._step(self._s, self._p, self.costs, actions)
        if status:  # the kernel checks the range: a loop it runs anyway costs nothing here
            if status < 0:
                b, i = divmod(-1 - status, self.n_agents)
                raise ValueError(
                    f"actions must be action ids in [0, {self.n_actions}), got "
                    f"{actions[b, i]} at [{b}, {i}]; no env was stepped"
                )
            self._grow_bond_log()

    def _checked_actions(self, actions) -> np.ndarray:
        """The slow path of `step`: convert to int32[B, N] or raise ValueError."""
        a = np.asarray(actions)
        if a.dtype.kind not in "iu":
            raise ValueError(
                f"actions must be an integer array (int32 is used as is), got dtype {a.dtype}"
            )
        if a.shape != self._action_shape:
            raise ValueError(
                f"actions must have shape {self._action_shape} (envs, agents), got {a.shape}"
            )
        if a.dtype != _INT32:
            bad = np.argwhere((a < 0) | (a >= self.n_actions))
            if len(bad):  # checked before the cast, which could wrap large ids into range
                b, i = bad[0]
                raise ValueError(
                    f"actions must be action ids in [0, {self.n_actions}), got "
                    f"{a[b, i]} at [{b}, {i}]; no env was stepped"
                )
            a = a.astype(np.int32)
        return a

    def _grow_bond_log(self) -> None:
        """Make room for at least one more step of bonds in every env (see kernels)."""
        s = self.state
        room = s.bond_log.shape[1]
        need = int(s.bond_log_len.max()) + self.n_agents
        log = np.zeros((self.n_envs, max(2 * room, need), 4), np.int32)
        log[:, :room] = s.bond_log
        self.state = s._replace(bond_log=log)
        self._s = state_ref(self.state)

    def nbytes(self) -> int:
        """Bytes held by the state and buffers of all envs."""
        return sum(a.nbytes for a in self.state if isinstance(a, np.ndarray))

    def env_state(self, b: int = 0) -> dict[str, np.ndarray]:
        """Copies of env b's arrays, by field name (for tests and inspection)."""
        out = {}
        for name, a in zip(WorldState._fields, self.state, strict=True):
            if name in SHARED_FIELDS:  # no env axis
                continue
            if name == "bond_log":  # its room depends on the batch; its content does not
                a = a[:, : self.state.bond_log_len[b]]
            out[name] = a[b].copy()
        return out

    def __repr__(self) -> str:
        H, W = self.grid_shape
        return (
            f"<World envs={self.n_envs} agents={self.n_agents} grid={H}x{W} "
            f"map={self.config.map.kind} actions={self.n_actions} seed={self.seed}>"
        )


def _seeds(seed: int, n_envs: int, given: np.ndarray | None) -> np.ndarray:
    if given is None:
        return env_seeds(seed, n_envs)
    given = np.asarray(given, dtype=np.uint64)
    if given.shape != (n_envs,):
        raise ValueError(f"env_seeds must have shape ({n_envs},), got {given.shape}")
    return given.copy()
