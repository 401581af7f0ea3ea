/**
 * One rule for an email address everywhere (reader keys, Customer.io identifiers, search, webhooks):
 * surrounding spaces removed, lowercased. Mailbox names are case-insensitive in practice and every
 * provider a newsletter reaches treats them so; keeping one spelling is what lets a sign-up, an
 * import and a webhook find the same reader.
 */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();
