import numpy as np
import pytest

from analysis import suites as S
from world import layout as L


class Fixed:
    """A factory for an actor that plays one fixed action, or a script with a tweak."""

    def __init__(self, action=L.NOOP, script=None):
        self.action, self.script = action, script

    def __call__(self, task, cfg, n, seed):
        outer = self

        class Actor:
            def __call__(self, world):
                if outer.script is not None:
                    return outer.script(task, world)
                return np.full((world.n_envs, world.n_agents), outer.action, np.int32)

            def observe_dones(self, world):
                pass

        return Actor()


@pytest.mark.parametrize("task", S.TASKS, ids=lambda t: t.key)
def test_scripted_solver_solves_every_episode(task):
    assert S.play_task(task, "scripted", episodes=4, seed=1)["score"] == 1.0


@pytest.mark.parametrize("task", S.TASKS, ids=lambda t: t.key)
def test_doing_nothing_solves_no_task(task):
    assert S.play_task(task, Fixed(L.NOOP), episodes=2)["score"] == 0.0


def test_random_baseline_scores_below_scripted_everywhere():
    for task in S.TASKS:
        assert S.play_task(task, "random", episodes=8, seed=0)["score"] < 1.0, task.key


def test_check_tasks_finds_no_broken_task():
    assert S.check_tasks(episodes=2) == {}


def test_object_use_needs_the_diamond_chain():
    (task,) = S.tasks_of("object_use")
    altar = S._cells(task.maps[0], "a")[0]

    def straight_to_altar(task, world):
        return np.array([[S._use_on(world, b, 0, altar)] for b in range(world.n_envs)], np.int32)

    assert S.play_task(task, Fixed(script=straight_to_altar), episodes=2)["score"] == 0.0


def test_in_context_pays_only_the_cued_altar():
    (task,) = S.tasks_of("in_context")

    def always_left(task, world):
        left = S._cells(task.maps[0], "a")[0]
        return np.array([[S._use_on(world, b, 0, left)] for b in range(world.n_envs)], np.int32)

    # the cue names the left altar in half of the episodes
    assert S.play_task(task, Fixed(script=always_left), episodes=4)["score"] == 0.5


def test_cooperation_needs_the_shared_energy():
    (task,) = S.tasks_of("cooperation")
    altar = S._cells(task.maps[0], "a")[0]

    def maker_alone(task, world):
        acts = np.full((world.n_envs, 2), L.NOOP, np.int32)
        for b in range(world.n_envs):
            acts[b, 1] = S._use_on(world, b, 1, altar)
        return acts

    assert S.play_task(task, Fixed(script=maker_alone), episodes=2)["score"] == 0.0


def test_in_context_cue_is_out_of_sight_from_the_junction():
    (task,) = S.tasks_of("in_context")
    cfg = task.world_config(0)
    cue = S._cells(task.maps[0], "12")[0]
    junction = (1, S._cells(task.maps[0], "^")[0][1])
    altars = S._cells(task.maps[0], "a")
    r = cfg.vision_radius
    for y, x in [cue, *altars]:
        assert max(abs(y - junction[0]), abs(x - junction[1])) > r


def test_unknown_suite_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="navigation"):
        S.tasks_of("chess")


def test_a_suite_world_keeps_the_action_set_and_channels_of_a_feature_world():
    from world import WorldConfig

    like = WorldConfig(
        postures={"enabled": True},
        building={"enabled": True},
        resources=[{"name": "ore"}],
        converters=[{"name": "src", "char": "o", "outputs": {"ore": 1}}],
    )
    cfg = S.TASKS[0].world_config(0, like=like)
    assert cfg.action_names == like.action_names
    assert cfg.obs_channels == like.obs_channels and cfg.self_features == like.self_features
