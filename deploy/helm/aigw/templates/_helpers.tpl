{{- define "aigw.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "aigw.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "aigw.labels" -}}
{{ include "aigw.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* A cluster: the nodes share a PostgreSQL store. Without one, a single node on SQLite. */}}
{{- define "aigw.cluster" -}}
{{- if or .Values.store.url .Values.store.existingSecret -}}true{{- end -}}
{{- end -}}

{{- define "aigw.redis" -}}
{{- if or .Values.cluster.redisUrl .Values.cluster.existingSecret -}}true{{- end -}}
{{- end -}}

{{/* The node's aigw.yaml: the config values plus what the chart owns. */}}
{{- define "aigw.config" -}}
{{- $server := dict "host" "0.0.0.0" "port" .Values.server.port "admin_host" "0.0.0.0" "admin_port" .Values.server.adminPort "workers" .Values.server.workers "shutdown_timeout_s" .Values.server.shutdownTimeoutSeconds -}}
{{- $config := merge (dict "version" 1 "server" $server) (deepCopy .Values.config) -}}
{{- if include "aigw.cluster" . -}}
{{- $_ := set $config "store" (dict "url" "${AIGW_STORE_URL}") -}}
{{- end -}}
{{- if include "aigw.redis" . -}}
{{- $_ := set $config "cluster" (dict "redis_url" "${AIGW_REDIS_URL}") -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}
