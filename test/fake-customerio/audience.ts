// audienceFilter evaluation ([TRK] audienceFilter): leaves `{segment:{id}}` and
// `{attribute:{field, operator: eq|exists, value?}}`, combinators `and`/`or`/`not`, exactly one
// key per level. Used by customer search and by broadcast `recipients`.

import type { Person, WorkspaceState } from './state.ts';
import { isPlainObject } from './validate.ts';

export type Matcher = (p: Person) => boolean;

/** Compile a filter into a matcher, or return the message saying why it is invalid. */
export function compileFilter(filter: unknown, ws: WorkspaceState, path = 'filter'): Matcher | string {
  if (!isPlainObject(filter)) return `${path} must be an object`;
  const keys = Object.keys(filter);
  if (keys.length !== 1) return `${path} must have exactly one of segment, attribute, and, or, not`;
  const key = keys[0] as string;
  const value = filter[key];
  switch (key) {
    case 'segment': {
      const id = isPlainObject(value) ? value.id : undefined;
      if (typeof id !== 'number' || !Number.isInteger(id)) return `${path}.segment.id must be an integer`;
      return (p) => ws.segments.get(id)?.members.has(p.cioId) ?? false;
    }
    case 'attribute': {
      if (!isPlainObject(value) || typeof value.field !== 'string' || value.field === '') return `${path}.attribute.field is required`;
      const field = value.field;
      if (value.operator === 'exists') return (p) => p.attributes[field] !== undefined;
      if (value.operator !== 'eq') return `${path}.attribute.operator must be eq or exists`;
      if (value.value === undefined) return `${path}.attribute.value is required for eq`;
      const wanted = String(value.value);
      // The App API compares stored values as strings (it returns every attribute as a string).
      return (p) => p.attributes[field] !== undefined && String(p.attributes[field]) === wanted;
    }
    case 'and':
    case 'or': {
      if (!Array.isArray(value) || value.length === 0) return `${path}.${key} must be a non-empty array`;
      const parts: Matcher[] = [];
      for (const [i, part] of value.entries()) {
        const m = compileFilter(part, ws, `${path}.${key}[${i}]`);
        if (typeof m === 'string') return m;
        parts.push(m);
      }
      return key === 'and' ? (p) => parts.every((m) => m(p)) : (p) => parts.some((m) => m(p));
    }
    case 'not': {
      const inner = compileFilter(value, ws, `${path}.not`);
      return typeof inner === 'string' ? inner : (p) => !inner(p);
    }
    default:
      return `${path} must have exactly one of segment, attribute, and, or, not`;
  }
}
