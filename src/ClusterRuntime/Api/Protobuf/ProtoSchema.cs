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

/// <summary>One field: JSON name, kind, repeated, and the message type for embedded messages.</summary>
public sealed record ProtoField(string Json, ProtoKind Kind, bool Repeated = false, string? Type = null);

/// <summary>Message types by name, each a field-number table. Only what kubectl's generators send is listed.</summary>
public static class ProtoSchema
{
    static ProtoField S(string n) => new(n, ProtoKind.String);
    static ProtoField Rs(string n) => new(n, ProtoKind.String, Repeated: true);
    static ProtoField I(string n) => new(n, ProtoKind.Int);
    static ProtoField B(string n) => new(n, ProtoKind.Bool);
    static ProtoField M(string n, string type, bool repeated = false) => new(n, ProtoKind.Message, repeated, type);

    /// <summary>The tables.</summary>
    public static readonly Dictionary<string, Dictionary<int, ProtoField>> Messages = new()
    {
        ["ObjectMeta"] = new()
        {
            [1] = S("name"), [2] = S("generateName"), [3] = S("namespace"), [5] = S("uid"), [6] = S("resourceVersion"),
            [7] = I("generation"), [8] = new("creationTimestamp", ProtoKind.Time), [9] = new("deletionTimestamp", ProtoKind.Time),
            [10] = I("deletionGracePeriodSeconds"), [11] = new("labels", ProtoKind.MapString), [12] = new("annotations", ProtoKind.MapString),
            [13] = M("ownerReferences", "OwnerReference", true), [14] = Rs("finalizers"),
        },
        ["OwnerReference"] = new() { [1] = S("kind"), [3] = S("name"), [4] = S("uid"), [5] = S("apiVersion"), [6] = B("controller"), [7] = B("blockOwnerDeletion") },
        ["Namespace"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("spec", "NamespaceSpec"), [3] = M("status", "NamespaceStatus") },
        ["NamespaceSpec"] = new() { [1] = Rs("finalizers") },
        ["NamespaceStatus"] = new() { [1] = S("phase") },
        ["ConfigMap"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = new("data", ProtoKind.MapString), [3] = new("binaryData", ProtoKind.MapBytes), [4] = B("immutable") },
        ["Secret"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = new("data", ProtoKind.MapBytes), [3] = S("type"), [4] = new("stringData", ProtoKind.MapString), [5] = B("immutable") },
        ["ServiceAccount"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("secrets", "ObjectReference", true), [3] = M("imagePullSecrets", "LocalObjectReference", true), [4] = B("automountServiceAccountToken") },
        ["ObjectReference"] = new() { [1] = S("kind"), [2] = S("namespace"), [3] = S("name"), [4] = S("uid"), [5] = S("apiVersion"), [6] = S("resourceVersion"), [7] = S("fieldPath") },
        ["LocalObjectReference"] = new() { [1] = S("name") },
        ["Service"] = new() { [1] = M("metadata", "ObjectMeta"), [2] = M("spec", "ServiceSpec") },
        ["ServiceSpec"] = new()
        {
            [1] = M("ports", "ServicePort", true), [2] = new("selector", ProtoKind.MapString), [3] = S("clusterIP"), [4] = S("type"),
            [5] = Rs("externalIPs"), [7] = S("sessionAffinity"), [11] = S("externalName"), [18] = Rs("clusterIPs"),
        },
        ["ServicePort"] = new() { [1] = S("name"), [2] = S("protocol"), [3] = I("port"), [4] = new("targetPort", ProtoKind.IntOrString), [5] = I("nodePort") },
        ["DeleteOptions"] = new() { [1] = I("gracePeriodSeconds"), [2] = M("preconditions", "Preconditions"), [3] = B("orphanDependents"), [4] = S("propagationPolicy"), [5] = Rs("dryRun") },
        ["Preconditions"] = new() { [1] = S("uid"), [2] = S("resourceVersion") },
    };
}
