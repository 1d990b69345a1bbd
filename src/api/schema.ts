// A tiny schema builder: one definition yields both the OpenAPI v3 (structural) schema that goes
// into the CRDs and the TypeScript type (via `Infer`). This is the single source of truth for the
// metallb.io API: src/api/metallb.ts defines the kinds with it, scripts/gen-crds.ts renders YAML.

export interface JsonSchema {
  type?: 'string' | 'integer' | 'boolean' | 'object' | 'array' | 'number';
  description?: string;
  format?: string;
  enum?: readonly (string | number)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  minLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: Array<{ rule: string; message: string }>;
}

/** A schema node that also carries the TypeScript type it describes (phantom `_t`). */
export interface S<T> {
  readonly schema: JsonSchema;
  readonly _t?: T;
  readonly optional: boolean;
}
export type Infer<X> = X extends S<infer T> ? T : never;

type Opts = Omit<JsonSchema, 'type' | 'items' | 'properties' | 'required'>;

function node<T>(schema: JsonSchema): S<T> {
  return { schema, optional: true };
}

export const t = {
  string: (o: Opts = {}): S<string> => node({ type: 'string', ...o }),
  /** A plain string in the schema, typed `V` in TypeScript (the parser checks the value). */
  stringAs: <V extends string>(o: Opts = {}): S<V> => node({ type: 'string', ...o }),
  enumOf: <const V extends string>(values: readonly V[], o: Opts = {}): S<V> => node({ type: 'string', enum: values, ...o }),
  int: (o: Opts = {}): S<number> => node({ type: 'integer', ...o }),
  int32: (o: Opts = {}): S<number> => node({ type: 'integer', format: 'int32', ...o }),
  int64: (o: Opts = {}): S<number> => node({ type: 'integer', format: 'int64', ...o }),
  bool: (o: Opts = {}): S<boolean> => node({ type: 'boolean', ...o }),
  /** A Go time.Duration string ("90s", "1m30s"). */
  duration: (o: Opts = {}): S<string> => node({ type: 'string', ...o }),
  array: <I>(items: S<I>, o: Opts & { listType?: 'atomic' | 'set' | 'map'; listMapKeys?: string[] } = {}): S<I[]> => {
    const { listType, listMapKeys, ...rest } = o;
    return node({
      type: 'array',
      items: items.schema,
      ...(listType ? { 'x-kubernetes-list-type': listType } : {}),
      ...(listMapKeys ? { 'x-kubernetes-list-map-keys': listMapKeys } : {}),
      ...rest,
    });
  },
  map: <V>(values: S<V>, o: Opts = {}): S<Record<string, V>> => node({ type: 'object', additionalProperties: values.schema, ...o }),
  object: <P extends Record<string, S<unknown>>>(props: P, o: Opts & { atomic?: boolean } = {}): S<ObjOf<P>> => {
    const { atomic, ...rest } = o;
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const [k, v] of Object.entries(props)) {
      properties[k] = v.schema;
      if (!v.optional) required.push(k);
    }
    return node({
      type: 'object',
      properties,
      ...(required.length ? { required } : {}),
      ...(atomic ? { 'x-kubernetes-map-type': 'atomic' as const } : {}),
      ...rest,
    });
  },
  /** Marks a property required (present in `required`, non-optional in the type). */
  required: <T>(s: S<T>): S<T> & { readonly optional: false } => ({ ...s, optional: false }),
  /** Adds CEL rules (x-kubernetes-validations). */
  cel: <T>(s: S<T>, rules: Array<{ rule: string; message: string }>): S<T> => ({
    ...s,
    schema: { ...s.schema, 'x-kubernetes-validations': rules },
  }),
};

type RequiredKeys<P> = { [K in keyof P]: P[K] extends { readonly optional: false } ? K : never }[keyof P];
type OptionalKeys<P> = Exclude<keyof P, RequiredKeys<P>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ObjOf<P> = Simplify<{ [K in RequiredKeys<P>]: Infer<P[K]> } & { [K in OptionalKeys<P>]?: Infer<P[K]> }>;
