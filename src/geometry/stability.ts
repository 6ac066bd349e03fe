/**
 * Named numerical-stability constants and helpers for the Poincaré-ball code.
 *
 * Convention (used by every module in src/geometry): the ball of curvature −c, c > 0, is
 * { x ∈ ℝᵈ : c‖x‖² < 1 }, of radius 1/√c. All arithmetic is done in float64 (JavaScript numbers);
 * typed-array outputs may be float32, so the projection margin depends on the storage dtype.
 *
 * No bare epsilon appears in maths code: every clamp below is named and says why it exists.
 */

/** Storage precision of a typed array: decides how far inside the ball a point must stay. */
export type Dtype = 'float32' | 'float64';

/**
 * Relative margin kept from the boundary when projecting into the ball: ‖x‖ ≤ (1 − BALL_EPS)/√c.
 * float32 cannot represent 1 − c‖x‖² accurately closer than ~1e-3 to the boundary (geoopt uses the
 * same 4e-3); float64 keeps 1e-5, enough for distances up to ~2·artanh(1 − 1e-5) ≈ 12.2 / √c.
 */
export const BALL_EPS: Readonly<Record<Dtype, number>> = { float32: 4e-3, float64: 1e-5 };

/** Floor for a norm used as a divisor (direction of a zero vector is taken as 0, not NaN). */
export const MIN_NORM = 1e-15;

/** Floor for conformal denominators such as 1 − c‖x‖² and the Möbius-addition denominator. */
export const MIN_DENOM = 1e-15;

/**
 * artanh arguments are clamped to ±(1 − ARTANH_EPS): artanh(1 − 1e-15) ≈ 17.6 is finite, artanh(1) is
 * not. Reached only by points on (or numerically past) the boundary.
 */
export const ARTANH_EPS = 1e-15;

/** Below this √u, asinh(s)/s is replaced by its series 1 − s²/6 (error < s⁴/20 < 1e-33). */
export const SERIES_EPS = 1e-8;

/** Largest value passed to tanh/exp-like maps before saturation: tanh(TANH_MAX) == 1 in float64. */
export const TANH_MAX = 20;

/** artanh with its argument clamped into the open interval (−1, 1). */
export function safeArtanh(x: number): number {
  const lim = 1 - ARTANH_EPS;
  return Math.atanh(x > lim ? lim : x < -lim ? -lim : x);
}

/** tanh with its argument clamped to ±TANH_MAX (same value, avoids Inf/Inf in ratios). */
export function safeTanh(x: number): number {
  return Math.tanh(x > TANH_MAX ? TANH_MAX : x < -TANH_MAX ? -TANH_MAX : x);
}

/**
 * 1 − c‖x‖² computed as (1 − √c‖x‖)(1 + √c‖x‖), which keeps relative accuracy near the boundary,
 * floored at MIN_DENOM so that points on or past the boundary give a large finite conformal factor.
 */
export function oneMinusCNormSq(normSq: number, c: number): number {
  const s = Math.sqrt(c * normSq);
  const v = (1 - s) * (1 + s);
  return v > MIN_DENOM ? v : MIN_DENOM;
}

/**
 * asinh(s)/s, stable at s = 0 (limit 1). Used by the distance and by the Fréchet-mean weight.
 */
export function asinhOverX(s: number): number {
  return s < SERIES_EPS ? 1 - (s * s) / 6 : Math.asinh(s) / s;
}

/** Largest admissible norm for a point stored with `dtype`: (1 − BALL_EPS)/√c. */
export function maxNorm(c: number, dtype: Dtype = 'float64'): number {
  return (1 - BALL_EPS[dtype]) / Math.sqrt(c);
}

/** tanh(s)/s, stable at s = 0 (limit 1). */
export function tanhOverX(s: number): number {
  return s < SERIES_EPS ? 1 - (s * s) / 3 : safeTanh(s) / s;
}

/** artanh(s)/s for s ≥ 0, stable at s = 0 (limit 1); s is clamped below 1 like safeArtanh. */
export function artanhOverX(s: number): number {
  return s < SERIES_EPS ? 1 + (s * s) / 3 : safeArtanh(s) / s;
}
