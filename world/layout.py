"""Ids shared by every world kernel: cell types, actions, observation channels, counters.

Kept in one small module so kernels, renderers and adapters agree on them without importing
each other.
"""

from world.config import BASE_ACTIONS

# Cell types in `grid[b, y, x]`. Mines, chargers and altars are solid objects; markers live in
# their own layer and agents walk over them.
EMPTY, WALL, MINE, CHARGER, ALTAR = 0, 1, 2, 3, 4
CELL_NAMES = ("empty", "wall", "mine", "charger", "altar")
# Optional features' cells: a block built by an agent (solid like a wall, but `destroy` can
# remove it), and converter kind k (WorldConfig.converters[k]) as CONVERTER0 + k.
BLOCK, CONVERTER0 = 5, 6

# Action ids; `mark_<c>` is MARK0 + c.
(
    NOOP,
    FORWARD,
    BACK,
    TURN_LEFT,
    TURN_RIGHT,
    USE,
    ATTACK,
    SHIELD,
    SHARE_ENERGY,
    SHARE_DIAMOND,
    MATE,
    SIGNAL,
) = range(len(BASE_ACTIONS))
MARK0 = len(BASE_ACTIONS)

# Facing: 0 north, 1 east, 2 south, 3 west; `DY[f], DX[f]` is the cell in front.
NORTH, EAST, SOUTH, WEST = 0, 1, 2, 3
DY = (-1, 0, 1, 0)
DX = (0, 1, 0, -1)

# Observation channels, last axis of `obs[b, i, y, x, c]` (channels-last, so a torch view
# `obs.permute(0, 3, 1, 2)` is a zero-copy channels_last tensor for conv layers).
OBS_CHANNELS = (
    "wall",  # 255 on walls and outside the map
    "mine",  # 1 + diamonds in the mine (capped at 255), 0 where no mine: an empty mine reads 1
    "charger",  # 255 ready, 128 cooling down
    "altar",  # 255 ready, 128 cooling down
    "marker",  # marker colour + 1, 0 where none
    "agent",  # 255 where an agent stands
    "agent_facing",  # facing + 1
    "agent_shield",  # 255 shield up
    "agent_frozen",  # turns left frozen (capped at 255)
    "agent_energy",  # energy bucket + 1 (see `energy_buckets`)
    "agent_signal",  # signal level
    "kinship",  # round(255 * K[observer, agent])
    "bonded",  # 255 where the agent is the observer's mate (bonds come with kinship)
)
(
    CH_WALL,
    CH_MINE,
    CH_CHARGER,
    CH_ALTAR,
    CH_MARKER,
    CH_AGENT,
    CH_FACING,
    CH_SHIELD,
    CH_FROZEN,
    CH_ENERGY,
    CH_SIGNAL,
    CH_KIN,
    CH_BONDED,
) = range(len(OBS_CHANNELS))
N_CHANNELS = len(OBS_CHANNELS)  # with every optional feature off (`WorldConfig.obs_channels`)
# The optional features' channels follow, in this order, only when on (their ids are the
# derived kernel parameters `ch_posture`, `ch_converter0`, `ch_block`):
#   agent_posture      posture id (POSTURES: 0 stand, 1 rest, 2 guard, 3 sprint)
#   converter_<name>   one per converter kind: 255 ready, 128 resting
#   block              255 where a built block stands (it also reads 255 in `wall`)

# The agent's own state, `self_obs[b, i, k]`, float32 in [0, 1].
SELF_FEATURES = (
    "energy",  # energy / max_energy
    "diamonds",  # diamonds / max_inventory
    "shield",  # 1 if up
    "frozen",  # frozen turns / max(freeze_steps, 1)
    "signal",  # signal / max_signal
    "facing_north",
    "facing_east",
    "facing_south",
    "facing_west",
    "hearts",  # hearts this episode / 10, capped at 1
    "time",  # step / max_steps
)
N_SELF = len(SELF_FEATURES)  # with every optional feature off (`WorldConfig.self_features`)
# Then, when on: posture (posture id / 3) and inventory_<name> (units / its max_inventory).

# Per-agent counters, `counters[b, i, k]`, cumulative since the last `World.reset()`.
COUNTERS = (
    "hearts",
    "diamonds_mined",
    "diamonds_converted",  # diamonds turned into energy at chargers
    "energy_spent",  # action costs, metabolism, shield upkeep, energy hits drain from a shield,
    # altar, signal and mate payments (not energy shared, which is counted apart)
    "energy_shared_given",
    "energy_shared_received",
    "diamonds_shared_given",
    "diamonds_shared_received",
    "diamonds_stolen",  # taken from frozen targets
    "diamonds_lost",  # taken by attackers
    "attacks_made",
    "attacks_received",
    "attacks_blocked",  # hits this agent's shield absorbed
    "shield_steps",
    "frozen_steps",
    "markers_placed",
    "signal_spent",
    "mate_attempts",
    "bonds_formed",
    "bonds_broken",  # bonds this agent ended by attacking its partner
    "mates_refused",  # mutual choices this agent turned down (partner's signal too low)
    "steps",  # agent-steps lived (frozen or not)
    "heart_steps",  # sum over its hearts of the episode step each was made at
    "signal_steps",  # sum over its steps of its signal level (mean level = signal_steps / steps)
)
(
    C_HEARTS,
    C_MINED,
    C_CONVERTED,
    C_ENERGY_SPENT,
    C_ENERGY_GIVEN,
    C_ENERGY_RECEIVED,
    C_DIAMONDS_GIVEN,
    C_DIAMONDS_RECEIVED,
    C_STOLEN,
    C_LOST,
    C_ATTACKS_MADE,
    C_ATTACKS_RECEIVED,
    C_BLOCKED,
    C_SHIELD_STEPS,
    C_FROZEN_STEPS,
    C_MARKERS,
    C_SIGNAL_SPENT,
    C_MATE_ATTEMPTS,
    C_BONDS_FORMED,
    C_BONDS_BROKEN,
    C_MATES_REFUSED,
    C_STEPS,
    C_HEART_STEPS,
    C_SIGNAL_STEPS,
) = range(len(COUNTERS))
N_COUNTERS = len(COUNTERS)
