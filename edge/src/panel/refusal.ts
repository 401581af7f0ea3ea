/**
 * Durable Object RPC does not carry an error's class across, so the panel's objects return a
 * refusal value instead of throwing ClientError; the route turns it back into the 4xx it means.
 */
import type { ErrorIssue } from '#shared/protocol.ts';
import { ClientError } from '#edge/platform/errors.ts';

export interface Refusal { refused: { status: 400 | 404 | 409 | 422; message: string; issues: ErrorIssue[] } }

export const refuse = (status: Refusal['refused']['status'], message: string, issues: ErrorIssue[] = []): Refusal =>
  ({ refused: { status, message, issues } });

export function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && 'refused' in value;
}

/** The value, or the ClientError the refusal stands for. */
export function unwrap<T>(value: T | Refusal): T {
  if (isRefusal(value)) throw new ClientError(value.refused.status, value.refused.message, value.refused.issues);
  return value;
}
