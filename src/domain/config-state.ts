// ConfigurationState as MetalLB v0.16 writes it (internal/k8s/controllers: values.go,
// config_controller.go, pool_controller.go, configuration_state_controller.go), pure: one object
// per component — `controller` (labels component-type=controller) and `speaker-<node>`
// (component-type=speaker, node-name=<node>) — with one condition: the controller's pool
// reconciler writes `poolReconcilerValid`, a speaker's config reconciler `configReconcilerValid`;
// reason `Reconciled` (True), `ConfigurationError` (False, the errors in the message) or
// `UnknownError`; result Valid/Invalid and errorSummary summarise the conditions.
import type { ConfigurationStateStatus } from '../api/metallb.js';

export const CONDITION_POOL_RECONCILER = 'poolReconcilerValid';
export const CONDITION_CONFIG_RECONCILER = 'configReconcilerValid';
export const REASON_RECONCILED = 'Reconciled';
export const REASON_CONFIGURATION_ERROR = 'ConfigurationError';
export const REASON_UNKNOWN_ERROR = 'UnknownError';
export const COMPONENT_TYPE_LABEL = 'metallb.io/component-type';
export const NODE_NAME_LABEL = 'metallb.io/node-name';

const SPEAKER_PREFIX = 'speaker-';

/** The condition type the component named `name` owns. */
export const conditionTypeFor = (name: string): string => (name === 'controller' ? CONDITION_POOL_RECONCILER : CONDITION_CONFIG_RECONCILER);

/** MetalLB's labels on the ConfigurationState named `name`. */
export function configurationStateLabels(name: string): Record<string, string> {
  if (name.startsWith(SPEAKER_PREFIX)) return { [COMPONENT_TYPE_LABEL]: 'speaker', [NODE_NAME_LABEL]: name.slice(SPEAKER_PREFIX.length) };
  return { [COMPONENT_TYPE_LABEL]: 'controller' };
}

/** The status to write: `now` is the RFC 3339 time of this reconciliation (MetalLB sets it on every one). */
export function configurationStateStatus(name: string, valid: boolean, errorSummary: string, now: string): ConfigurationStateStatus {
  return {
    result: valid ? 'Valid' : 'Invalid',
    errorSummary: valid ? '' : errorSummary,
    conditions: [
      {
        type: conditionTypeFor(name),
        status: valid ? 'True' : 'False',
        reason: valid ? REASON_RECONCILED : REASON_CONFIGURATION_ERROR,
        // The apiserver caps a condition message at 32,768 characters.
        message: valid ? '' : errorSummary.slice(0, 32_000),
        lastTransitionTime: now,
      },
    ],
  };
}
