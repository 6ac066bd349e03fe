#!/usr/bin/env python3
"""Golden vectors for the Poincaré-ball geometry, computed at 50 significant digits with mpmath.

Inputs are float64 values (stored exactly in JSON via repr); every output is computed from those
exact inputs in 50-digit arithmetic and rounded once to float64. The formulas used here are the
textbook ones, written independently of the TypeScript and torch code:
  * distance as (2/√c)·artanh(√c‖−x ⊕ y‖) (the code uses the asinh form),
  * gyration / parallel transport by the literal definition gyr[u,v]w = ⊖(u⊕v) ⊕ (u ⊕ (v ⊕ w))
    (the code uses a closed form),
  * the Fréchet mean by Lou et al.'s iteration run to 1e-40 and then *checked* by its first-order
    condition Σ w_l log_μ(x_l) = 0 (the generator refuses to write a mean that fails it).
Point-valued outputs follow the library's projection rule: a result with ‖y‖ > (1 − 1e-5)/√c is
scaled back to that radius (float64 margin, stability.ts BALL_EPS).

Run:  python proto/vectors/generate_geometry.py > proto/vectors/geometry.json
The output is deterministic (fixed seed); python-env/tests checks that it is reproduced exactly.
"""

import json
import random
import sys

import mpmath as mp

mp.mp.dps = 50
BALL_EPS64 = mp.mpf("1e-5")
SEED = 20211206


def vec(xs):
    return [mp.mpf(x) for x in xs]


def dot(a, b):
    return mp.fsum(x * y for x, y in zip(a, b))


def norm(a):
    return mp.sqrt(dot(a, a))


def scale(s, a):
    return [s * x for x in a]


def project(y, c):
    rmax = (1 - BALL_EPS64) / mp.sqrt(c)
    n = norm(y)
    return scale(rmax / n, y) if n > rmax else y


def mobius_add_raw(x, y, c):
    xy, x2, y2 = dot(x, y), dot(x, x), dot(y, y)
    den = 1 + 2 * c * xy + c * c * x2 * y2
    return [((1 + 2 * c * xy + c * y2) * a + (1 - c * x2) * b) / den for a, b in zip(x, y)]


def neg(a):
    return [-x for x in a]


def lam(x, c):
    return 2 / (1 - c * dot(x, x))


def dist(x, y, c):
    return 2 / mp.sqrt(c) * mp.atanh(mp.sqrt(c) * norm(mobius_add_raw(neg(x), y, c)))


def expmap0(v, c):
    n = norm(v)
    if n == 0:
        return list(v)
    return project(scale(mp.tanh(mp.sqrt(c) * n) / (mp.sqrt(c) * n), v), c)


def logmap0(y, c):
    n = norm(y)
    if n == 0:
        return list(y)
    return scale(mp.atanh(mp.sqrt(c) * n) / (mp.sqrt(c) * n), y)


def expmap(x, v, c):
    n = norm(v)
    if n == 0:
        return project(list(x), c)
    sc = mp.sqrt(c)
    second = scale(mp.tanh(sc * lam(x, c) * n / 2) / (sc * n), v)
    return project(mobius_add_raw(x, second, c), c)


def logmap(x, y, c):
    z = mobius_add_raw(neg(x), y, c)
    n = norm(z)
    if n == 0:
        return [mp.mpf(0)] * len(x)
    sc = mp.sqrt(c)
    return scale(2 / (sc * lam(x, c)) * mp.atanh(sc * n) / n, z)


def scalar_mul(r, x, c):
    n = norm(x)
    if n == 0:
        return list(x)
    sc = mp.sqrt(c)
    return project(scale(mp.tanh(r * mp.atanh(sc * n)) / (sc * n), x), c)


def gyration(u, v, w, c):
    """Literal definition on a shrunken copy of w (gyrations are linear), then scaled back."""
    n = norm(w)
    if n == 0:
        return list(w)
    eps = mp.mpf("1e-3") / (n * mp.sqrt(c))
    ws = scale(eps, w)
    uv = mobius_add_raw(u, v, c)
    r = mobius_add_raw(neg(uv), mobius_add_raw(u, mobius_add_raw(v, ws, c), c), c)
    return scale(1 / eps, r)


def transport(x, y, v, c):
    return scale(lam(x, c) / lam(y, c), gyration(y, neg(x), v, c))


def gyroplane(x, a, p, c):
    z = mobius_add_raw(neg(p), x, c)
    za = dot(z, a)
    an = norm(a)
    sc = mp.sqrt(c)
    d = mp.asinh(2 * sc * abs(za) / ((1 - c * dot(z, z)) * an)) / sc
    return mp.sign(za) * lam(p, c) * an * d, d


def frechet(points, weights, c):
    sc = mp.sqrt(c)
    xs = [scale(sc, p) for p in points]
    y = list(xs[0])
    for _ in range(10000):
        alphas = []
        for x in xs:
            u = dot([a - b for a, b in zip(x, y)], [a - b for a, b in zip(x, y)]) / ((1 - dot(x, x)) * (1 - dot(y, y)))
            g = mp.mpf(4) if u == 0 else 2 * mp.acosh(1 + 2 * u) / mp.sqrt(u * u + u)
            alphas.append(g / (1 - dot(x, x)))
        alphas = [w * al for w, al in zip(weights, alphas)]
        A = mp.fsum(alphas)
        B = [mp.fsum(al * x[t] for al, x in zip(alphas, xs)) for t in range(len(y))]
        C = mp.fsum(al * dot(x, x) for al, x in zip(alphas, xs))
        nxt = scale(2 / ((A + C) + mp.sqrt((A + C) ** 2 - 4 * dot(B, B))), B)
        moved = norm([a - b for a, b in zip(nxt, y)])
        y = nxt
        if moved < mp.mpf("1e-40"):
            break
    mean = scale(1 / sc, y)
    grad = [mp.fsum(w * g[t] for w, g in zip(weights, [logmap(mean, p, c) for p in points])) for t in range(len(mean))]
    if norm(grad) > mp.mpf("1e-30"):
        raise SystemExit(f"Fréchet mean failed its first-order check: |grad| = {norm(grad)}")
    return mean


def plain_sum(xs):
    """Left-to-right float64 sum. Python 3.12's sum() compensates its rounding errors (Neumaier), so
    it can differ from 3.11's in the last bits; the inputs below must not depend on the version."""
    total = 0.0
    for x in xs:
        total += x
    return total


def f64(v):
    return float(v) if not isinstance(v, list) else [float(x) for x in v]


def main():
    rng = random.Random(SEED)

    def rand_dir(d):
        v = [rng.gauss(0, 1) for _ in range(d)]
        n = plain_sum(x * x for x in v) ** 0.5
        return [x / n for x in v]

    radii = [0.0, 1e-12, 1e-6, 0.1, 0.5, 0.9, 0.99, 0.999999]

    def rand_point(d, c):
        r = rng.choice(radii) / c ** 0.5
        return [r * x for x in rand_dir(d)]

    def rand_tangent(d):
        s = rng.choice([0.0, 1e-9, 0.3, 1.0, 3.0])
        return [s * x for x in rand_dir(d)]

    out = {
        "description": "Poincaré-ball golden vectors (curvature -c), 50-digit mpmath, rounded to float64. See generate_geometry.py.",
        "generator": "proto/vectors/generate_geometry.py",
        "seed": SEED,
        "ball_eps_float64": 1e-5,
        "cases": {k: [] for k in ["mobius_add", "mobius_scalar_mul", "expmap0", "logmap0", "expmap", "logmap", "dist", "lambda", "transport", "gyroplane", "frechet_mean"]},
    }
    cases = out["cases"]
    for c in [1.0, 0.5, 2.0]:
        for d in [2, 3, 5]:
            for _ in range(6):
                x, y = rand_point(d, c), rand_point(d, c)
                X, Y, C = vec(x), vec(y), mp.mpf(c)
                cases["mobius_add"].append({"c": c, "x": x, "y": y, "out": f64(project(mobius_add_raw(X, Y, C), C))})
                r = rng.choice([-2.0, -0.5, 0.0, 0.3, 1.0, 2.5])
                cases["mobius_scalar_mul"].append({"c": c, "r": r, "x": x, "out": f64(scalar_mul(mp.mpf(r), X, C))})
                v = rand_tangent(d)
                V = vec(v)
                cases["expmap0"].append({"c": c, "v": v, "out": f64(expmap0(V, C))})
                cases["logmap0"].append({"c": c, "y": y, "out": f64(logmap0(Y, C))})
                cases["expmap"].append({"c": c, "x": x, "v": v, "out": f64(expmap(X, V, C))})
                cases["logmap"].append({"c": c, "x": x, "y": y, "out": f64(logmap(X, Y, C))})
                cases["dist"].append({"c": c, "x": x, "y": y, "out": f64(dist(X, Y, C))})
                cases["lambda"].append({"c": c, "x": x, "out": f64(lam(X, C))})
                cases["transport"].append({"c": c, "x": x, "y": y, "v": v, "out": f64(transport(X, Y, V, C))})
                a = [rng.gauss(0, 1) for _ in range(d)]
                signed, dd = gyroplane(X, vec(a), Y, C)
                cases["gyroplane"].append({"c": c, "x": x, "a": a, "p": y, "signed": f64(signed), "dist": f64(dd)})
            # Nearly equal points: distance and log map must not cancel catastrophically.
            x = rand_point(d, c)
            y = [xi + 1e-9 * ui for xi, ui in zip(x, rand_dir(d))]
            if plain_sum(t * t for t in y) * c < 1:
                cases["dist"].append({"c": c, "x": x, "y": y, "out": f64(dist(vec(x), vec(y), mp.mpf(c)))})
                cases["logmap"].append({"c": c, "x": x, "y": y, "out": f64(logmap(vec(x), vec(y), mp.mpf(c)))})
            for npts in [1, 2, 5, 17]:
                pts = [[rng.uniform(-0.6, 0.6) / (d ** 0.5 * c ** 0.5) for _ in range(d)] for _ in range(npts)]
                w = [rng.uniform(0.1, 2.0) for _ in range(npts)]
                m = frechet([vec(p) for p in pts], [mp.mpf(t) for t in w], mp.mpf(c))
                cases["frechet_mean"].append({"c": c, "points": pts, "weights": w, "mean": f64(m)})
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
