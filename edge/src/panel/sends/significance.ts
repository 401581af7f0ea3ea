/**
 * How sure an A/B result is: a two-proportion z-test of one arm's rate against another's (pooled
 * standard error), and the minimum sample below which the panel warns before deciding. Pure.
 */

/** Abramowitz-Stegun 7.1.26 (error below 1.5e-7): enough for a confidence shown to one decimal. */
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return sign * y;
}

const normalCdf = (z: number) => 0.5 * (1 + erf(z / Math.SQRT2));

export interface ZTest { z: number; pValue: number; confidence: number }

/** Arm 1 (x1 successes of n1) against arm 2; confidence = 1 - two-sided p. Null when either arm is empty or nothing varies. */
export function twoProportionZ(x1: number, n1: number, x2: number, n2: number): ZTest | null {
  if (n1 <= 0 || n2 <= 0) return null;
  const p = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  if (se === 0) return null;
  const z = (x1 / n1 - x2 / n2) / se;
  const pValue = 2 * (1 - normalCdf(Math.abs(z)));
  return { z, pValue, confidence: 1 - pValue };
}

/** Fewer recipients per arm than this, or fewer openers in all, and the panel says the result may be chance. */
export const MIN_PER_ARM = 100;
export const MIN_EVENTS = 20;

export function tooLittleData(arms: ReadonlyArray<{ recipients: number; humanOpens: number }>): string | null {
  const smallest = Math.min(...arms.map((a) => a.recipients));
  const events = arms.reduce((n, a) => n + a.humanOpens, 0);
  if (smallest < MIN_PER_ARM) return `an arm has ${smallest} recipients (fewer than ${MIN_PER_ARM}): the difference may be chance`;
  if (events < MIN_EVENTS) return `only ${events} human opens so far (fewer than ${MIN_EVENTS}): the difference may be chance`;
  return null;
}
