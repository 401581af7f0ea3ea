/**
 * How the panel words the edge's figures for editors: tag names as words, the engagement score as
 * a level. Pure; the thresholds follow the default tag rules (README "Tag rules": high engagement
 * at 0.7).
 */

/** `crypto_enthusiast` → "Crypto enthusiast". */
export function tagLabel(tag: string): string {
  const words = tag.replace(/_+/g, ' ').trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : tag;
}

export type EngagementLevel = 'Low' | 'Medium' | 'High';

/** Below 0.3 low, from 0.7 high (the default `high_engagement` rule), medium between. */
export function engagementLevel(score: number): EngagementLevel {
  if (score >= 0.7) return 'High';
  if (score >= 0.3) return 'Medium';
  return 'Low';
}
