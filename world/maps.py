"""Seeded map generation as `@njit` kernels: scatter, rooms, caves, mazes, ASCII templates.

Every generator writes one env's grid (`grid[b]`) from that env's RNG, so the same seed gives
the same map. Random kinds keep one connected floor and place objects in walls beside it or
where the floor stays connected, so every agent can reach a cell beside every mine, charger
and altar (`reachable_objects` checks it). ASCII maps are used exactly as drawn.
"""

import numpy as np
from numba import njit

from world import layout as L
from world.config import MAP_KINDS
from world.rng import randint, uniform

_ASCII = MAP_KINDS.index("ascii")
_SCATTER = MAP_KINDS.index("scatter")
_ROOMS = MAP_KINDS.index("rooms")
_CAVES = MAP_KINDS.index("caves")
_MAZE = MAP_KINDS.index("maze")


@njit(cache=True)
def _flood(g, y0, x0, queue, seen, label):
    """Label every EMPTY cell 4-connected to (y0, x0) with `label`; return how many."""
    H, W = g.shape
    head, tail = 0, 1
    queue[0] = y0 * W + x0
    seen[y0 * W + x0] = label
    while head < tail:
        k = queue[head]
        head += 1
        y, x = k // W, k % W
        for d in range(4):
            ny, nx = y + L.DY[d], x + L.DX[d]
            if 0 <= ny < H and 0 <= nx < W:
                nk = ny * W + nx
                if g[ny, nx] == L.EMPTY and seen[nk] != label:
                    seen[nk] = label
                    queue[tail] = nk
                    tail += 1
    return tail


@njit(cache=True)
def _keep_largest_floor(g, queue, seen):
    """Wall off every floor region but the largest; return the floor size kept."""
    H, W = g.shape
    seen[:] = 0
    best_label, best_size, label = 0, 0, 0
    for y in range(H):
        for x in range(W):
            if g[y, x] == L.EMPTY and seen[y * W + x] == 0:
                label += 1
                size = _flood(g, y, x, queue, seen, label)
                if size > best_size:
                    best_size, best_label = size, label
    for y in range(H):
        for x in range(W):
            if g[y, x] == L.EMPTY and seen[y * W + x] != best_label:
                g[y, x] = L.WALL
    return best_size


@njit(cache=True)
def _gen_scatter(g, P, rng, b):
    bd = P.border
    H, W = g.shape
    for y in range(bd, H - bd):
        for x in range(bd, W - bd):
            g[y, x] = L.WALL if uniform(rng, b) < P.wall_density else L.EMPTY


@njit(cache=True)
def _gen_maze(g, P, rng, b, stack, visited):
    """Perfect maze (randomised depth-first search) on the interior's even cells."""
    bd = P.border
    H, W = g.shape
    ch = (H - 2 * bd + 1) // 2  # maze cells down
    cw = (W - 2 * bd + 1) // 2
    visited[:] = 0
    start = randint(rng, b, ch * cw)
    visited[start] = 1
    g[bd + 2 * (start // cw), bd + 2 * (start % cw)] = L.EMPTY
    stack[0] = start
    top = 1
    while top > 0:
        c = stack[top - 1]
        cy, cx = c // cw, c % cw
        n = 0
        for d in range(4):
            ny, nx = cy + L.DY[d], cx + L.DX[d]
            if 0 <= ny < ch and 0 <= nx < cw and visited[ny * cw + nx] == 0:
                n += 1
        if n == 0:
            top -= 1
            continue
        pick = randint(rng, b, n)
        d = 0
        for d in range(4):
            ny, nx = cy + L.DY[d], cx + L.DX[d]
            if 0 <= ny < ch and 0 <= nx < cw and visited[ny * cw + nx] == 0:
                if pick == 0:
                    break
                pick -= 1
        visited[ny * cw + nx] = 1
        g[bd + 2 * cy + L.DY[d], bd + 2 * cx + L.DX[d]] = L.EMPTY
        g[bd + 2 * ny, bd + 2 * nx] = L.EMPTY
        stack[top] = ny * cw + nx
        top += 1


@njit(cache=True)
def _gen_caves(g, P, rng, b, tmp):
    """Cellular-automaton caves (4-5 rule) from random rock."""
    bd = P.border
    H, W = g.shape
    for y in range(bd, H - bd):
        for x in range(bd, W - bd):
            g[y, x] = L.WALL if uniform(rng, b) < P.cave_fill else L.EMPTY
    for _ in range(P.cave_smoothing):
        for y in range(bd, H - bd):
            for x in range(bd, W - bd):
                walls = 0
                for dy in range(-1, 2):
                    for dx in range(-1, 2):
                        if (dy != 0 or dx != 0) and g[y + dy, x + dx] == L.WALL:
                            walls += 1
                if walls >= 5:
                    tmp[y * W + x] = L.WALL
                elif walls <= 3:
                    tmp[y * W + x] = L.EMPTY
                else:
                    tmp[y * W + x] = g[y, x]
        for y in range(bd, H - bd):
            for x in range(bd, W - bd):
                g[y, x] = tmp[y * W + x]


@njit(cache=True)
def _gen_rooms(g, P, rng, b):
    """Random rectangular rooms, each joined to the previous by an L-shaped corridor."""
    bd = P.border
    H, W = g.shape
    ih, iw = H - 2 * bd, W - 2 * bd
    py, px = -1, -1
    for _ in range(P.rooms):
        rh = 3 + randint(rng, b, max(1, ih // 3 - 2))
        rw = 3 + randint(rng, b, max(1, iw // 3 - 2))
        rh, rw = min(rh, ih), min(rw, iw)
        y0 = bd + randint(rng, b, ih - rh + 1)
        x0 = bd + randint(rng, b, iw - rw + 1)
        g[y0 : y0 + rh, x0 : x0 + rw] = L.EMPTY
        cy, cx = y0 + rh // 2, x0 + rw // 2
        if py >= 0:
            if randint(rng, b, 2) == 0:
                g[py, min(px, cx) : max(px, cx) + 1] = L.EMPTY
                g[min(py, cy) : max(py, cy) + 1, cx] = L.EMPTY
            else:
                g[min(py, cy) : max(py, cy) + 1, px] = L.EMPTY
                g[cy, min(px, cx) : max(px, cx) + 1] = L.EMPTY
        py, px = cy, cx


@njit(cache=True)
def _objects_stay_open(g, y, x):
    """Does every object next to (y, x) still have a floor cell beside it to be used from?"""
    for d in range(4):
        oy, ox = y + L.DY[d], x + L.DX[d]
        if g[oy, ox] >= L.MINE:
            open_side = False
            for e in range(4):
                if g[oy + L.DY[e], ox + L.DX[e]] == L.EMPTY:
                    open_side = True
            if not open_side:
                return False
    return True


@njit(cache=True)
def _place_objects(g, kind, count, border, rng, b, queue, seen, cells, floor):
    """Put `count` objects, trying cells in random order: an inner wall cell beside the floor
    (always safe), or a floor cell whose loss keeps the floor connected and leaves every
    neighbouring object an open side. Returns the new floor size; places fewer when no such
    cell is left (tiny or crowded maps)."""
    H, W = g.shape
    for _ in range(count):
        n = 0
        for y in range(border, H - border):
            for x in range(border, W - border):
                if g[y, x] == L.EMPTY or g[y, x] == L.WALL:
                    cells[n] = y * W + x
                    n += 1
        placed = False
        for t in range(n):  # lazy Fisher-Yates: each candidate once, in random order
            u = t + randint(rng, b, n - t)
            cells[t], cells[u] = cells[u], cells[t]
            y, x = cells[t] // W, cells[t] % W
            ny, nx = -1, -1
            for d in range(4):
                if g[y + L.DY[d], x + L.DX[d]] == L.EMPTY:
                    ny, nx = y + L.DY[d], x + L.DX[d]
            if ny < 0:
                continue
            if g[y, x] == L.WALL:
                g[y, x] = kind
                placed = True
                break
            g[y, x] = kind
            seen[:] = 0
            if _flood(g, ny, nx, queue, seen, 1) == floor - 1 and _objects_stay_open(g, y, x):
                floor -= 1
                placed = True
                break
            g[y, x] = L.EMPTY
        if not placed:
            break
    return floor


@njit(cache=True)
def build_map(s, P, b):
    """Lay out env b's grid, objects and markers for a new episode."""
    g = s.grid[b]
    if P.kind == _ASCII or (not P.new_map_each_episode and s.episode[b] > 0):
        g[:, :] = s.tmpl_grid[b]
        s.marker[b] = s.tmpl_marker[b]
    else:
        need = P.n_agents + P.mines + P.chargers + P.altars
        for k in range(P.n_converters):
            need += s.converter_count[k]
        floor = 0
        for _attempt in range(20):  # small caves or dense scatter can leave too little floor
            g[:, :] = L.WALL  # generators carve the interior out of solid rock
            if P.kind == _SCATTER:
                _gen_scatter(g, P, s.rng, b)
            elif P.kind == _ROOMS:
                _gen_rooms(g, P, s.rng, b)
            elif P.kind == _CAVES:
                _gen_caves(g, P, s.rng, b, s.seen[b])
            else:
                _gen_maze(g, P, s.rng, b, s.queue[b], s.seen[b])
            floor = _keep_largest_floor(g, s.queue[b], s.seen[b])
            if floor >= need:
                break
        if floor < need:  # give up on the generator: an open room always fits
            bd = P.border
            g[bd : g.shape[0] - bd, bd : g.shape[1] - bd] = L.EMPTY
            floor = (g.shape[0] - 2 * bd) * (g.shape[1] - 2 * bd)
        q, seen, cells = s.queue[b], s.seen[b], s.cells[b]
        bd = P.border
        floor = _place_objects(g, L.ALTAR, P.altars, bd, s.rng, b, q, seen, cells, floor)
        floor = _place_objects(g, L.CHARGER, P.chargers, bd, s.rng, b, q, seen, cells, floor)
        floor = _place_objects(g, L.MINE, P.mines, bd, s.rng, b, q, seen, cells, floor)
        for k in range(P.n_converters):  # no draws when there are none: today's maps unchanged
            kind = L.CONVERTER0 + k
            n = s.converter_count[k]
            floor = _place_objects(g, kind, n, bd, s.rng, b, q, seen, cells, floor)
        s.marker[b] = -1
        if not P.new_map_each_episode:
            s.tmpl_grid[b] = g
            s.tmpl_marker[b] = -1
    H, W = g.shape
    for y in range(H):
        for x in range(W):
            s.mine_count[b, y, x] = P.mine_start if g[y, x] == L.MINE else 0
            s.timer[b, y, x] = 0
            s.marker_ttl[b, y, x] = 0  # markers drawn in an ASCII map never fade
            s.agent_at[b, y, x] = -1


@njit(cache=True)
def place_agents(s, P, b):
    """Put env b's agents on ASCII spawns first, then on random free floor cells."""
    g = s.grid[b]
    H, W = g.shape
    for i in range(P.n_agents):
        if i < s.spawns.shape[0]:
            y, x, f = s.spawns[i, 0], s.spawns[i, 1], s.spawns[i, 2]
        else:
            f = randint(s.rng, b, 4)
            y, x = -1, -1
            for _attempt in range(1000):
                ty, tx = randint(s.rng, b, H), randint(s.rng, b, W)
                if g[ty, tx] == L.EMPTY and s.agent_at[b, ty, tx] < 0:
                    y, x = ty, tx
                    break
            if y < 0:  # crowded map: take the first free cell in reading order
                for k in range(H * W):
                    if g[k // W, k % W] == L.EMPTY and s.agent_at[b, k // W, k % W] < 0:
                        y, x = k // W, k % W
                        break
        s.ay[b, i] = y
        s.ax[b, i] = x
        s.facing[b, i] = f
        s.agent_at[b, y, x] = i


def reachable_objects(grid: np.ndarray, y: int, x: int) -> dict[str, bool]:
    """For one grid (int8[H, W]) and a start cell: can an agent starting there reach a cell
    beside a mine, a charger and an altar (and each converter kind k on the grid, as
    `converter_k`), moving over empty cells?"""
    H, W = grid.shape
    seen = np.zeros(H * W, np.int32)
    queue = np.zeros(H * W, np.int32)
    g = grid.copy()
    g[y, x] = L.EMPTY
    _flood(g, y, x, queue, seen, 1)
    reach = seen.reshape(H, W) == 1
    found = {"mine": False, "charger": False, "altar": False}
    kinds = [("mine", L.MINE), ("charger", L.CHARGER), ("altar", L.ALTAR)]
    for c in np.unique(grid[grid >= L.CONVERTER0]):
        kinds.append((f"converter_{c - L.CONVERTER0}", c))
        found[f"converter_{c - L.CONVERTER0}"] = False
    for name, kind in kinds:
        for oy, ox in np.argwhere(grid == kind):
            for d in range(4):
                ny, nx = oy + L.DY[d], ox + L.DX[d]
                if 0 <= ny < H and 0 <= nx < W and reach[ny, nx]:
                    found[name] = True
    return found
