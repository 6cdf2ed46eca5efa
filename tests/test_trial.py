"""A trial: fitness measured after training is what its saved networks score again."""

import numpy as np

from evo.checkpoint import load_checkpoint, save_checkpoint
from evo.config import FitnessConfig, PPOConfig
from evo.evaluate import PolicyActor, play_episodes
from evo.trial import eval_seed, run_trial
from kinship import KinshipConfig
from world import WorldConfig

WORLD = WorldConfig(
    n_agents=2, width=5, height=5, max_steps=32, start_energy=100, altar_cost=5,
    map={"kind": "scatter", "mines": 1, "chargers": 1, "altars": 1},
)  # fmt: skip
PPO = PPOConfig(total_timesteps=4 * 32 * 2, num_envs=4, num_steps=32, hidden=16, channels=4)


def test_fitness_after_training_equals_a_fresh_evaluation_of_the_saved_networks(tmp_path):
    genes = {"kin_weight": [0.0, 0.0], "learning_rate": [1e-3, 2e-3]}
    fit = FitnessConfig(episodes=8)
    r = run_trial(genes, [5, 6], WORLD, PPO, KinshipConfig(), seed=11, return_weights=True,
                  fitness=fit)  # fmt: skip
    assert r.fitness.shape == (2,) and r.training_fitness.shape == (2,)
    path = save_checkpoint(tmp_path / "ck", WORLD, PPO, r.weights, uids=[5, 6])
    ck = load_checkpoint(path)
    again = play_episodes(
        WORLD, PolicyActor(ck, 8, seed=eval_seed(11)), 8, eval_seed(11), r.kinship,
        genes={"kin_weight": np.zeros(2)},
    )  # fmt: skip
    assert r.fitness.sum() > 0  # something to reproduce
    np.testing.assert_array_equal(r.fitness, again["hearts_by_agent"])


def test_fitness_during_training_is_the_hearts_made_while_learning():
    fit = FitnessConfig(when="during_training")
    r = run_trial({}, [0, 1], WORLD, PPO, KinshipConfig(), seed=3, fitness=fit)
    np.testing.assert_array_equal(r.fitness, r.training_fitness)
    assert r.curve_hearts.shape == (2, PPO.num_updates)
