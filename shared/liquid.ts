/**
 * The subset of Liquid the panel's preview fills: `{{ customer.x }}`, optionally `| default: "y"`.
 * No imports, so the panel bundles it without zod.
 */
export function fillTemplate(text: string, customer: Record<string, unknown>): string {
  return text.replace(/\{\{\s*customer\.([a-zA-Z0-9_.]+)\s*(?:\|\s*default:\s*"([^"]*)"\s*)?\}\}/g, (_, name: string, fallback?: string) => {
    const value = customer[name];
    return value === undefined || value === null || value === '' ? (fallback ?? '') : String(value);
  });
}
