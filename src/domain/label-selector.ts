// Kubernetes label selectors (metav1.LabelSelector): matchLabels AND matchExpressions, with the
// apimachinery semantics: an empty selector matches everything; `In`/`NotIn`/`Exists`/
// `DoesNotExist`. Used by pools (namespace/service selectors), advertisements, peers and election.

export type LabelOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values?: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export type Labels = Readonly<Record<string, string>>;

export const LABEL_OPERATORS: readonly LabelOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** True when `labels` satisfy every term of `sel`. An empty or absent selector matches all. */
export function matchesSelector(sel: LabelSelector | undefined, labels: Labels | undefined): boolean {
  if (!sel) return true;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (l[k] !== v) return false;
  }
  for (const req of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, req.key);
    const val = l[req.key];
    switch (req.operator) {
      case 'In':
        if (!has || !(req.values ?? []).includes(val as string)) return false;
        break;
      case 'NotIn':
        if (has && (req.values ?? []).includes(val as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** Matches if any selector in the list matches; an empty list matches everything (MetalLB's rule for nodeSelectors and friends). */
export function matchesAny(sels: readonly LabelSelector[] | undefined, labels: Labels | undefined): boolean {
  if (!sels || sels.length === 0) return true;
  return sels.some((s) => matchesSelector(s, labels));
}

/**
 * Validates a selector as the apiserver does (apimachinery ValidateLabelSelector): In/NotIn need
 * values, Exists/DoesNotExist take none. Returns messages with a field path relative to the selector.
 */
export function validateSelector(sel: LabelSelector): Array<{ path: string; message: string }> {
  const errs: Array<{ path: string; message: string }> = [];
  (sel.matchExpressions ?? []).forEach((req, i) => {
    const p = `matchExpressions[${i}]`;
    if (!LABEL_OPERATORS.includes(req.operator)) {
      errs.push({ path: `${p}.operator`, message: `not a valid selector operator: "${String(req.operator)}"` });
    } else if ((req.operator === 'In' || req.operator === 'NotIn') && (req.values ?? []).length === 0) {
      errs.push({ path: `${p}.values`, message: `must be specified when operator is ${req.operator}` });
    } else if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && (req.values ?? []).length > 0) {
      errs.push({ path: `${p}.values`, message: `may not be specified when operator is ${req.operator}` });
    }
    if (!req.key) errs.push({ path: `${p}.key`, message: 'must not be empty' });
  });
  return errs;
}
