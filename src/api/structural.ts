// Checks a decoded object against a structural schema from schema.ts the way the apiserver
// would (types, enums, ranges, required fields, unknown fields) and applies defaults. Pure; used
// by the config parser so `mooringctl validate` reports what `kubectl apply` would refuse.
import type { JsonSchema } from './schema.js';

export interface StructuralIssue {
  path: string;
  value: unknown;
  message: string;
}

// A number too large for a double (a 5,001-digit literal) decodes as ±Infinity, which JSON shows as null.
const show = (v: unknown): string =>
  typeof v === 'number' && !Number.isFinite(v)
    ? Number.isNaN(v)
      ? 'NaN'
      : `${String(v)} (a number too large to represent)`
    : typeof v === 'string'
      ? JSON.stringify(v)
      : (JSON.stringify(v) ?? String(v));

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Returns the value with defaults applied, and every structural problem found. */
export function checkStructure(schema: JsonSchema, value: unknown, path: string, issues: StructuralIssue[]): unknown {
  if (value === undefined || value === null) return value;
  const want = schema.type;
  const got = typeOf(value);
  if (want && !(want === got || (want === 'number' && got === 'integer'))) {
    issues.push({ path, value, message: `must be of type ${want}, got ${got} ${show(value)}` });
    return value;
  }
  if (schema.enum && !schema.enum.includes(value as string)) {
    issues.push({
      path,
      value,
      message: `unsupported value ${show(value)}: supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`,
    });
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      issues.push({ path, value, message: `must be greater than or equal to ${schema.minimum}, got ${value}` });
    if (schema.maximum !== undefined && value > schema.maximum)
      issues.push({ path, value, message: `must be less than or equal to ${schema.maximum}, got ${value}` });
  }
  if (typeof value === 'string' && schema.pattern && !new RegExp(schema.pattern).test(value)) {
    issues.push({ path, value, message: `must match ${schema.pattern}, got ${show(value)}` });
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      issues.push({ path, value, message: `must have at least ${schema.minItems} items` });
    return schema.items ? value.map((v, i) => checkStructure(schema.items as JsonSchema, v, `${path}[${i}]`, issues)) : value;
  }
  if (got === 'object') {
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const r of schema.required ?? []) {
      if (obj[r] === undefined || obj[r] === null) issues.push({ path: `${path}.${r}`, value: undefined, message: 'Required value' });
    }
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties?.[k];
      if (sub) out[k] = checkStructure(sub, v, `${path}.${k}`, issues);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        out[k] = checkStructure(schema.additionalProperties, v, `${path}.${k}`, issues);
      } else if (schema.properties) issues.push({ path: `${path}.${k}`, value: v, message: `unknown field "${k}"` });
      else out[k] = v;
    }
    for (const [k, sub] of Object.entries(schema.properties ?? {})) {
      if (out[k] === undefined && sub.default !== undefined) out[k] = sub.default;
    }
    return out;
  }
  return value;
}
