// Field tables (from k8s.io/api generated.proto) for the request bodies kubectl sends as protobuf.
namespace Appliance.ClusterRuntime.Api.Protobuf;

/// <summary>How a protobuf field maps to JSON.</summary>
public enum ProtoKind
{
    /// <summary>string.</summary>
    String,
    /// <summary>bytes, written as base64.</summary>
    Bytes,
    /// <summary>int32/int64 varint.</summary>
    Int,
    /// <summary>bool varint.</summary>
    Bool,
    /// <summary>An embedded message.</summary>
    Message,
    /// <summary>map&lt;string,string&gt;.</summary>
    MapString,
    /// <summary>map&lt;string,bytes&gt;.</summary>
    MapBytes,
    /// <summary>metav1.Time {seconds=1, nanos=2}.</summary>
    Time,
    /// <summary>intstr.IntOrString {type=1, intVal=2, strVal=3}.</summary>
    IntOrString,
}

/// <summary>One field: JSON name, kind, repeated, the message type for embedded messages, and whether it is a Go pointer.</summary>
/// <remarks>gogo-protobuf writes non-pointer scalars even when zero; JSON omits them (omitempty), so zero values are
/// dropped unless the Go field is a pointer, whose zero is meaningful (for example <c>replicas: 0</c>).</remarks>
public sealed record ProtoField(string Json, ProtoKind Kind, bool Repeated = false, string? Type = null, bool Pointer = false);

/// <summary>Message types by name, each a field-number table. Only what kubectl's generators send is listed.</summary>
public static class ProtoSchema
{
    static ProtoField S(string n) => new(n, ProtoKind.String);
    static ProtoField Rs(string n) => new(n, ProtoKind.String, Repeated: true);
    static ProtoField I(string n) => new(n, ProtoKind.Int);
    static ProtoField B(string n) => new(n, ProtoKind.Bool);
    static ProtoField M(string n, string type, bool repeated = false) => new(n, ProtoKind.Message, repeated, type);
    static ProtoField Pi(string n) => new(n, ProtoKind.Int, Pointer: true);
    static ProtoField Pb(string n) => new(n, ProtoKind.Bool, Pointer: true);
    static ProtoField Ios(string n) => new(n, ProtoKind.IntOrString, Pointer: true);

    /// <summary>The tables.</summary>
    public static readonly Dictionary<string, Dictionary<int, ProtoField>> Messages = new()
    {
        ["ObjectMeta"] = new()
        {
            [1] = S("name"), [2] = S("generateName"), [3] = S("namespace"), [5] = S("uid"), [6] = S("resourceVersion"),
            [7] = I("generation"), [8] = new("creationTimestamp", ProtoKind.Time), [9] = new("deletionTimestamp", ProtoKind.Time),
            [10] = Pi("deletionGracePeriodSeconds"), [11] = new("labels", ProtoKind.MapString), [12] = new("annotations", ProtoKind.MapString),
            [13] = M("ownerReferences", "OwnerReference", true), [14] = Rs("finalizers"),
        },
        ["OwnerReference"] = new() { [1] = S("kind"), [3] = S("name"), [4] = S("uid"), [5] = S("apiVersion"), [6] = Pb("controller"), [7] = Pb("blockOwnerDeletion") },
        ["Namespace"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("spec", "NamespaceSpec"), [3] = M("status", "NamespaceStatus") },
        ["NamespaceSpec"] = new() { [1] = Rs("finalizers") },
        ["NamespaceStatus"] = new() { [1] = S("phase") },
        ["ConfigMap"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = new("data", ProtoKind.MapString), [3] = new("binaryData", ProtoKind.MapBytes), [4] = Pb("immutable") },
        ["Secret"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = new("data", ProtoKind.MapBytes), [3] = S("type"), [4] = new("stringData", ProtoKind.MapString), [5] = Pb("immutable") },
        ["ServiceAccount"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("secrets", "ObjectReference", true), [3] = M("imagePullSecrets", "LocalObjectReference", true), [4] = Pb("automountServiceAccountToken") },
        ["ObjectReference"] = new() { [1] = S("kind"), [2] = S("namespace"), [3] = S("name"), [4] = S("uid"), [5] = S("apiVersion"), [6] = S("resourceVersion"), [7] = S("fieldPath") },
        ["LocalObjectReference"] = new() { [1] = S("name") },
        ["Service"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("spec", "ServiceSpec") },
        ["ServiceSpec"] = new()
        {
            [1] = M("ports", "ServicePort", true), [2] = new("selector", ProtoKind.MapString), [3] = S("clusterIP"), [4] = S("type"),
            [5] = Rs("externalIPs"), [7] = S("sessionAffinity"), [11] = S("externalName"), [18] = Rs("clusterIPs"),
        },
        ["ServicePort"] = new() { [1] = S("name"), [2] = S("protocol"), [3] = I("port"), [4] = new("targetPort", ProtoKind.IntOrString), [5] = I("nodePort") },
        ["Deployment"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("spec", "DeploymentSpec") },
        ["DeploymentSpec"] = new()
        {
            [1] = Pi("replicas"), [2] = M("selector", "LabelSelector"), [3] = M("template", "PodTemplateSpec"), [4] = M("strategy", "DeploymentStrategy"),
            [5] = I("minReadySeconds"), [6] = Pi("revisionHistoryLimit"), [7] = B("paused"), [9] = Pi("progressDeadlineSeconds"),
        },
        ["DeploymentStrategy"] = new() { [1] = S("type"), [2] = M("rollingUpdate", "RollingUpdateDeployment") },
        ["RollingUpdateDeployment"] = new() { [1] = Ios("maxUnavailable"), [2] = Ios("maxSurge") },
        ["Job"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("spec", "JobSpec") },
        ["JobSpec"] = new()
        {
            [1] = Pi("parallelism"), [2] = Pi("completions"), [3] = Pi("activeDeadlineSeconds"), [4] = M("selector", "LabelSelector"),
            [5] = Pb("manualSelector"), [6] = M("template", "PodTemplateSpec"), [7] = Pi("backoffLimit"), [8] = Pi("ttlSecondsAfterFinished"),
            [9] = S("completionMode"), [10] = Pb("suspend"),
        },
        ["LabelSelector"] = new() { [1] = new("matchLabels", ProtoKind.MapString), [2] = M("matchExpressions", "LabelSelectorRequirement", true) },
        ["LabelSelectorRequirement"] = new() { [1] = S("key"), [2] = S("operator"), [3] = Rs("values") },
        ["PodTemplateSpec"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("spec", "PodSpec") },
        ["PodSpec"] = new()
        {
            [2] = M("containers", "Container", true), [3] = S("restartPolicy"), [4] = Pi("terminationGracePeriodSeconds"),
            [5] = Pi("activeDeadlineSeconds"), [6] = S("dnsPolicy"), [7] = new("nodeSelector", ProtoKind.MapString), [8] = S("serviceAccountName"),
            [10] = S("nodeName"), [11] = B("hostNetwork"), [16] = S("hostname"), [17] = S("subdomain"), [19] = S("schedulerName"),
            [20] = M("initContainers", "Container", true), [21] = Pb("automountServiceAccountToken"), [24] = S("priorityClassName"),
        },
        ["Container"] = new()
        {
            [1] = S("name"), [2] = S("image"), [3] = Rs("command"), [4] = Rs("args"), [5] = S("workingDir"),
            [6] = M("ports", "ContainerPort", true), [7] = M("env", "EnvVar", true), [13] = S("terminationMessagePath"),
            [14] = S("imagePullPolicy"), [16] = B("stdin"), [17] = B("stdinOnce"), [18] = B("tty"), [20] = S("terminationMessagePolicy"),
        },
        ["ContainerPort"] = new() { [1] = S("name"), [2] = I("hostPort"), [3] = I("containerPort"), [4] = S("protocol"), [5] = S("hostIP") },
        ["EnvVar"] = new() { [1] = S("name"), [2] = S("value") },
        ["DeleteOptions"] = new() { [1] = Pi("gracePeriodSeconds"), [2] = M("preconditions", "Preconditions"), [3] = Pb("orphanDependents"), [4] = S("propagationPolicy"), [5] = Rs("dryRun") },
        ["Preconditions"] = new() { [1] = S("uid"), [2] = S("resourceVersion") },
        ["Role"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("rules", "PolicyRule", true) },
        ["ClusterRole"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("rules", "PolicyRule", true), [3] = M("aggregationRule", "AggregationRule") },
        ["PolicyRule"] = new() { [1] = Rs("verbs"), [2] = Rs("apiGroups"), [3] = Rs("resources"), [4] = Rs("resourceNames"), [5] = Rs("nonResourceURLs") },
        ["AggregationRule"] = new() { [1] = M("clusterRoleSelectors", "LabelSelector", true) },
        ["RoleBinding"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("subjects", "Subject", true), [3] = M("roleRef", "RoleRef") },
        ["ClusterRoleBinding"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("subjects", "Subject", true), [3] = M("roleRef", "RoleRef") },
        ["Subject"] = new() { [1] = S("kind"), [2] = S("apiGroup"), [3] = S("name"), [4] = S("namespace") },
        ["RoleRef"] = new() { [1] = S("apiGroup"), [2] = S("kind"), [3] = S("name") },
        ["SelfSubjectAccessReview"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("spec", "SelfSubjectAccessReviewSpec") },
        ["SelfSubjectAccessReviewSpec"] = new() { [1] = M("resourceAttributes", "ResourceAttributes"), [2] = M("nonResourceAttributes", "NonResourceAttributes") },
        ["SubjectAccessReview"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("spec", "SubjectAccessReviewSpec") },
        ["LocalSubjectAccessReview"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("spec", "SubjectAccessReviewSpec") },
        ["SubjectAccessReviewSpec"] = new()
        {
            [1] = M("resourceAttributes", "ResourceAttributes"), [2] = M("nonResourceAttributes", "NonResourceAttributes"), [3] = S("user"),
            [4] = Rs("groups"), [6] = S("uid"),
        },
        ["ResourceAttributes"] = new() { [1] = S("namespace"), [2] = S("verb"), [3] = S("group"), [4] = S("version"), [5] = S("resource"), [6] = S("subresource"), [7] = S("name") },
        ["NonResourceAttributes"] = new() { [1] = S("path"), [2] = S("verb") },
        ["SelfSubjectRulesReview"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("spec", "SelfSubjectRulesReviewSpec") },
        ["SelfSubjectRulesReviewSpec"] = new() { [1] = S("namespace") },
        // authentication.k8s.io/v1: `kubectl create token` posts a TokenRequest to serviceaccounts/NAME/token.
        ["TokenRequest"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("spec", "TokenRequestSpec"), [3] = M("status", "TokenRequestStatus") },
        ["TokenRequestSpec"] = new() { [1] = Rs("audiences"), [3] = M("boundObjectRef", "BoundObjectReference"), [4] = Pi("expirationSeconds") },
        ["BoundObjectReference"] = new() { [1] = S("kind"), [2] = S("apiVersion"), [3] = S("name"), [4] = S("uid") },
        ["TokenRequestStatus"] = new() { [1] = S("token"), [2] = new("expirationTimestamp", ProtoKind.Time) },
        ["TokenReview"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("spec", "TokenReviewSpec") },
        ["TokenReviewSpec"] = new() { [1] = S("token"), [2] = Rs("audiences") },
        ["SelfSubjectReview"] = new() { [1] = M("metadata", "ObjectMeta") },
    };
}
