{{- /* Hand-written helpers of the Mooring chart (the other templates are generated from deploy/). */}}

{{- define "mooring.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{- define "mooring.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- /* MetalLB's log levels on Mooring's: all → debug, none → error. */}}
{{- define "mooring.logLevel" -}}
{{- if eq . "all" }}debug{{ else if eq . "none" }}error{{ else if has . (list "debug" "info" "warn" "error") }}{{ . }}{{ else }}{{ fail (printf "logLevel %q: use all, debug, info, warn, error or none" .) }}{{ end }}
{{- end }}

{{- /* The speakers' NATS servers: the bundled cluster's Service, or nats.url. */}}
{{- define "mooring.natsUrl" -}}
{{- if .Values.nats.bundled -}}
nats://mooring-nats.{{ .Release.Namespace }}.svc:4222
{{- else -}}
{{ required "nats.url is required when nats.bundled is false" .Values.nats.url }}
{{- end }}
{{- end }}

{{- /* The speaker's image: the Mooring image, or in FRR mode its variant with vtysh and frr-reload.py. */}}
{{- define "mooring.speakerImage" -}}
{{- if .Values.speaker.frr.enabled -}}
{{ .Values.speaker.frr.speakerImage | default (printf "%s-frr" (include "mooring.image" .)) }}
{{- else -}}
{{ include "mooring.image" . }}
{{- end }}
{{- end }}
