/**
 * The one place schemas get zod from: its small build, `zod/mini` (functions instead of methods,
 * so a bundler keeps only what the schemas use), with English messages. Import it as a namespace,
 * `import * as z from '#shared/zod.ts'`: each `z.object` is then a named import the bundler can
 * drop when unused, where a `z` object (classic `zod`'s `import { z }`) keeps every export, all
 * of zod's locales included. `zod/mini` has no locale by default (its messages would be a bare
 * "Invalid input"): registering `en` alone keeps the field-level messages of the edge's 4xx
 * answers ("Too small: expected string to have >=8 characters") as they were.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
