{{/* The release's full name, at most 63 characters. */}}
{{- define "realtime-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "realtime-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "realtime-operator.labels" -}}
{{ include "realtime-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "realtime-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "realtime-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "realtime-operator.image" -}}
{{- printf "%s:%s" .image.repository (default .chart.AppVersion .image.tag) -}}
{{- end -}}

{{/*
The rules the operator needs in a namespace it watches: exactly the calls its reconcilers make.
- its own kinds: informers (get/list/watch), the finalizer (patch/update), status (patch/update); delete of the
  SessionPools of a RealtimeCluster being deleted (they go before its database objects);
  finalizers/update lets it set blockOwnerDeletion on the objects it owns;
- Secrets: an informer on every Secret (the owner and JWT Secrets a cluster references), and the runtime
  configuration, credentials and PgBouncer configuration it writes;
- Deployments (runtime and pooler), Services (client, discovery, pooler) and PodDisruptionBudgets: informers
  (list/watch: reconciles read only from these caches), create/update; get only to take over an object of the same
  name the caches do not show; delete of the pooler's objects when a cluster disables it and of a PDB when a pool
  disables its budget;
- Pods: an informer on the runtime pods (their IPs, to read connection counts from /metrics), and a list of a
  deleted cluster's runtime pods (its database objects go once they are gone);
- NetworkPolicies: a tenant's two (runtime and pooler), like the objects above;
- Events on the custom resources (get/update: a repeated Event counts up instead of piling up).
*/}}
{{- define "realtime-operator.rules" -}}
- apiGroups: ["realtime.whatssound.io"]
  resources: ["realtimeclusters", "sessionpools"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["realtime.whatssound.io"]
  resources: ["sessionpools"]
  verbs: ["delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
- apiGroups: ["realtime.whatssound.io"]
  resources: ["realtimeclusters/status", "sessionpools/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["realtime.whatssound.io"]
  resources: ["realtimeclusters/finalizers", "sessionpools/finalizers"]
  verbs: ["update"]
# autoscaling writes replicas through the scale subresource, as an HPA would
- apiGroups: ["realtime.whatssound.io"]
  resources: ["sessionpools/scale"]
  verbs: ["get", "patch", "update"]
- apiGroups: [""]
  resources: ["secrets", "services"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
# pods: read for their connections; patched with controller.kubernetes.io/pod-deletion-cost before a scale-down
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "get", "update"]
{{- end -}}
