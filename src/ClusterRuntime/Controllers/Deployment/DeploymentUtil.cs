// Pure functions of the deployment controller: template hash, surge and unavailability bounds, revisions, counts.
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Deployment;

/// <summary>Upstream's <c>deployment/util</c> on JSON objects.</summary>
public static class DeploymentUtil
{
    /// <summary>The label that ties a ReplicaSet and its pods to one pod template.</summary>
    public const string HashLabel = "pod-template-hash";
    /// <summary>The revision of a ReplicaSet (and of the Deployment's newest one).</summary>
    public const string RevisionAnnotation = "deployment.kubernetes.io/revision";
    /// <summary>Earlier revisions a ReplicaSet had (it was rolled back to).</summary>
    public const string RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history";
    /// <summary>The Deployment's replicas when the ReplicaSet was last scaled.</summary>
    public const string DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas";
    /// <summary>The Deployment's replicas plus maxSurge when the ReplicaSet was last scaled.</summary>
    public const string MaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas";

    /// <summary>Deployment annotations not copied onto its ReplicaSets.</summary>
    static readonly HashSet<string> NotCopied =
    [
        "kubectl.kubernetes.io/last-applied-configuration", RevisionAnnotation, RevisionHistoryAnnotation,
        DesiredReplicasAnnotation, MaxReplicasAnnotation, "deprecated.deployment.rollback.to",
    ];

    /// <summary>
    /// The pod-template-hash of a template: FNV-1a 32 over its canonical JSON, then over the collision count as 8
    /// little-endian bytes (when set), printed in decimal and mapped to safe characters, as upstream's ComputeHash and
    /// rand.SafeEncodeString. Upstream hashes the Go struct's dump; the canonical JSON (keys sorted, empty values
    /// left out) plays its part, so the value is deterministic but not upstream's number for the same template.
    /// </summary>
    public static string ComputeHash(JsonObject template, int? collisionCount)
    {
        uint hash = 2166136261;
        foreach (var b in Canonical(template)) hash = (hash ^ b) * 16777619;
        if (collisionCount is int c)
        {
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)c);
            foreach (var b in bytes) hash = (hash ^ b) * 16777619;
        }
        const string alphanums = "bcdfghjklmnpqrstvwxz2456789";
        var digits = hash.ToString(CultureInfo.InvariantCulture);
        var safe = new char[digits.Length];
        for (int i = 0; i < digits.Length; i++) safe[i] = alphanums[digits[i] % alphanums.Length];
        return new string(safe);
    }

    /// <summary>True when the templates are equal apart from the pod-template-hash label (and unset versus empty fields).</summary>
    public static bool EqualIgnoreHash(JsonObject? a, JsonObject? b) =>
        Canonical(WithoutHash(a)).AsSpan().SequenceEqual(Canonical(WithoutHash(b)));

    static JsonObject WithoutHash(JsonObject? template)
    {
        var copy = template is null ? new JsonObject() : Obj.Clone(template);
        if (Obj.Object(copy, "metadata", "labels") is { } labels) labels.Remove(HashLabel);
        return copy;
    }

    /// <summary>
    /// Keys sorted; nulls, false, empty strings, empty objects and empty lists left out, as Go's <c>omitempty</c>
    /// drops them: a template kubectl sent back (from a Go struct) then compares equal to the one stored.
    /// </summary>
    static byte[] Canonical(JsonNode? node)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream)) (Prune(node) ?? new JsonObject()).WriteTo(writer);
        return stream.ToArray();
    }

    static JsonNode? Prune(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                var result = new JsonObject();
                foreach (var (k, v) in o.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    if (Prune(v) is { } pruned) result[k] = pruned;
                return result.Count == 0 ? null : result;
            case JsonArray a:
                var items = new JsonArray();
                foreach (var v in a) items.Add(Prune(v) ?? new JsonObject());
                return items.Count == 0 ? null : items;
            case JsonValue v:
                if (v.TryGetValue<bool>(out var b) && !b) return null;
                if (v.TryGetValue<string>(out var s) && s.Length == 0) return null;
                return v.DeepClone();
            default:
                return null;
        }
    }

    /// <summary>spec.replicas (upstream defaults it to 1).</summary>
    public static int Replicas(JsonObject? obj) => Obj.Int(obj, 1, "spec", "replicas");

    /// <summary>True for the RollingUpdate strategy (the default).</summary>
    public static bool IsRollingUpdate(JsonObject d) => (Obj.Str(d, "spec", "strategy", "type") ?? "RollingUpdate") == "RollingUpdate";

    /// <summary>
    /// An int-or-percent scaled to <paramref name="total"/>, percentages rounded up or down (upstream's
    /// GetScaledValueFromIntOrPercent); a string without % is refused.
    /// </summary>
    public static int Scaled(JsonNode? value, int total, bool roundUp)
    {
        if (value is not JsonValue v) return 0;
        if (v.TryGetValue<int>(out var i)) return i;
        if (v.TryGetValue<double>(out var d)) return (int)d;
        var s = v.GetValue<string>();
        if (!s.EndsWith('%') || !int.TryParse(s[..^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var percent))
            throw new InvalidOperationException($"invalid value for IntOrString: invalid value \"{s}\": must be an integer or a percentage");
        var scaled = percent * (double)total / 100;
        return (int)(roundUp ? Math.Ceiling(scaled) : Math.Floor(scaled));
    }

    /// <summary>maxSurge rounded up and maxUnavailable rounded down; both zero makes maxUnavailable 1 (upstream's ResolveFenceposts).</summary>
    public static (int Surge, int Unavailable) Fenceposts(JsonObject d)
    {
        var desired = Replicas(d);
        var surge = Scaled(Obj.At(d, "spec", "strategy", "rollingUpdate", "maxSurge"), desired, true);
        var unavailable = Scaled(Obj.At(d, "spec", "strategy", "rollingUpdate", "maxUnavailable"), desired, false);
        return surge == 0 && unavailable == 0 ? (0, 1) : (surge, unavailable);
    }

    /// <summary>The surge of a rolling update, 0 for Recreate.</summary>
    public static int MaxSurge(JsonObject d) => IsRollingUpdate(d) ? Fenceposts(d).Surge : 0;

    /// <summary>The pods a rolling update may have unavailable (at most replicas), 0 for Recreate or no replicas.</summary>
    public static int MaxUnavailable(JsonObject d)
    {
        if (!IsRollingUpdate(d) || Replicas(d) == 0) return 0;
        return Math.Min(Fenceposts(d).Unavailable, Replicas(d));
    }

    /// <summary>A ReplicaSet's revision annotation (0 when missing or not a number).</summary>
    public static long Revision(JsonObject rs) =>
        long.TryParse(Annotation(rs, RevisionAnnotation), NumberStyles.Integer, CultureInfo.InvariantCulture, out var r) ? r : 0;

    /// <summary>The highest revision among <paramref name="sets"/>.</summary>
    public static long MaxRevision(IEnumerable<JsonObject> sets) => sets.Select(Revision).DefaultIfEmpty(0).Max();

    /// <summary>One annotation, or null.</summary>
    public static string? Annotation(JsonObject obj, string key) => Obj.Str(obj, "metadata", "annotations", key);

    /// <summary>The annotations map, created when missing.</summary>
    public static JsonObject Annotations(JsonObject obj) => Obj.Ensure(obj, "metadata", "annotations");

    /// <summary>Copies the Deployment's own annotations onto <paramref name="rs"/>; true when one changed.</summary>
    public static bool CopyAnnotations(JsonObject d, JsonObject rs)
    {
        bool changed = false;
        foreach (var (k, v) in Obj.Object(d, "metadata", "annotations") ?? [])
        {
            if (NotCopied.Contains(k) || v is null) continue;
            var value = v.GetValue<string>();
            if (Annotation(rs, k) == value) continue;
            Annotations(rs)[k] = value;
            changed = true;
        }
        return changed;
    }

    /// <summary>
    /// Gives <paramref name="rs"/> the Deployment's annotations and <paramref name="revision"/> when that is newer
    /// (recording the old one in revision-history when the ReplicaSet existed), and, when new, the replica annotations.
    /// </summary>
    public static bool SetNewReplicaSetAnnotations(JsonObject d, JsonObject rs, long revision, bool exists)
    {
        var changed = CopyAnnotations(d, rs);
        var old = Annotation(rs, RevisionAnnotation);
        var oldRevision = Revision(rs);
        if (old is null || oldRevision < revision)
        {
            Annotations(rs)[RevisionAnnotation] = revision.ToString(CultureInfo.InvariantCulture);
            changed = true;
        }
        if (exists && old is not null && oldRevision < revision)
        {
            var history = Annotation(rs, RevisionHistoryAnnotation);
            Annotations(rs)[RevisionHistoryAnnotation] = string.IsNullOrEmpty(history) ? old : history + "," + old;
        }
        if (!exists)
        {
            SetReplicasAnnotations(rs, Replicas(d), Replicas(d) + MaxSurge(d));
            changed = true;
        }
        return changed;
    }

    /// <summary>True when the replica annotations of <paramref name="rs"/> differ from the given values.</summary>
    public static bool ReplicasAnnotationsNeedUpdate(JsonObject rs, int desired, int max) =>
        Annotation(rs, DesiredReplicasAnnotation) != desired.ToString(CultureInfo.InvariantCulture)
        || Annotation(rs, MaxReplicasAnnotation) != max.ToString(CultureInfo.InvariantCulture);

    /// <summary>Sets desired-replicas and max-replicas.</summary>
    public static void SetReplicasAnnotations(JsonObject rs, int desired, int max)
    {
        Annotations(rs)[DesiredReplicasAnnotation] = desired.ToString(CultureInfo.InvariantCulture);
        Annotations(rs)[MaxReplicasAnnotation] = max.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Sum of spec.replicas.</summary>
    public static int SpecReplicas(IEnumerable<JsonObject?> sets) => sets.OfType<JsonObject>().Sum(Replicas);

    /// <summary>Sum of status.replicas (pods that exist).</summary>
    public static int ActualReplicas(IEnumerable<JsonObject?> sets) => sets.OfType<JsonObject>().Sum(s => Obj.Int(s, 0, "status", "replicas"));

    /// <summary>Sum of status.readyReplicas.</summary>
    public static int ReadyReplicas(IEnumerable<JsonObject?> sets) => sets.OfType<JsonObject>().Sum(s => Obj.Int(s, 0, "status", "readyReplicas"));

    /// <summary>Sum of status.availableReplicas.</summary>
    public static int AvailableReplicas(IEnumerable<JsonObject?> sets) => sets.OfType<JsonObject>().Sum(s => Obj.Int(s, 0, "status", "availableReplicas"));

    /// <summary>ReplicaSets with spec.replicas above zero.</summary>
    public static List<JsonObject> Active(IEnumerable<JsonObject?> sets) => sets.OfType<JsonObject>().Where(s => Replicas(s) > 0).ToList();

    /// <summary>Oldest first by creationTimestamp, then name (upstream's ReplicaSetsByCreationTimestamp).</summary>
    public static List<JsonObject> ByCreation(IEnumerable<JsonObject> sets) =>
        sets.OrderBy(s => Obj.Time(s, "metadata", "creationTimestamp") ?? DateTimeOffset.MinValue).ThenBy(s => Meta.Name(s), StringComparer.Ordinal).ToList();

    /// <summary>True when progressDeadlineSeconds is set and not the "no deadline" MaxInt32.</summary>
    public static bool HasProgressDeadline(JsonObject d) => Obj.Long(d, "spec", "progressDeadlineSeconds") is long s && s != int.MaxValue;
}
