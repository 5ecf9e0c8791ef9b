// The order the ReplicaSet controller deletes surplus pods in, and its pod keys and label checks (pod state itself: Workloads/PodState.cs).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;

namespace Appliance.ClusterRuntime.Controllers.ReplicaSet;

/// <summary>Upstream's <c>controller.ActivePodsWithRanks</c>, and the ReplicaSet controller's pod keys and label checks.</summary>
public static class PodRanking
{
    /// <summary>
    /// The first <paramref name="count"/> of <paramref name="pods"/> to delete, in upstream's order: unscheduled before
    /// scheduled; Pending before Unknown before Running; not ready before ready; more pods of the same owner family
    /// (<paramref name="related"/>) on its node first; ready for less time first; more restarts first; newer first.
    /// </summary>
    public static List<JsonObject> ToDelete(List<JsonObject> pods, IEnumerable<JsonObject> related, int count)
    {
        if (count >= pods.Count) return pods;
        var onNode = related.Where(PodState.IsActive).GroupBy(NodeName).ToDictionary(g => g.Key, g => g.Count());
        var ranked = pods.Select(p => (Pod: p, Rank: onNode.GetValueOrDefault(NodeName(p)))).ToList();
        ranked.Sort((a, b) => Compare(a.Pod, a.Rank, b.Pod, b.Rank));
        return ranked.Take(count).Select(r => r.Pod).ToList();
    }

    static string NodeName(JsonObject pod) => Obj.Str(pod, "spec", "nodeName") ?? "";

    static int PhaseOrdinal(JsonObject pod) => Obj.Str(pod, "status", "phase") switch
    {
        "Pending" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 0,
    };

    /// <summary>Negative when <paramref name="a"/> goes before <paramref name="b"/>.</summary>
    static int Compare(JsonObject a, int rankA, JsonObject b, int rankB)
    {
        var (na, nb) = (NodeName(a), NodeName(b));
        if (na != nb && (na.Length == 0 || nb.Length == 0)) return na.Length == 0 ? -1 : 1;
        var phase = PhaseOrdinal(a).CompareTo(PhaseOrdinal(b));
        if (phase != 0) return phase;
        var (ra, rb) = (PodState.IsReady(a), PodState.IsReady(b));
        if (ra != rb) return ra ? 1 : -1;
        if (rankA != rankB) return rankB.CompareTo(rankA);
        if (ra && rb)
        {
            var since = AfterOrZero(Obj.Time(PodState.ReadyCondition(a), "lastTransitionTime"), Obj.Time(PodState.ReadyCondition(b), "lastTransitionTime"));
            if (since != 0) return since;
        }
        var restarts = Restarts(b).CompareTo(Restarts(a));
        if (restarts != 0) return restarts;
        return AfterOrZero(Obj.Time(a, "metadata", "creationTimestamp"), Obj.Time(b, "metadata", "creationTimestamp"));
    }

    /// <summary>Negative when <paramref name="a"/> is unset or later than <paramref name="b"/> (which then goes first).</summary>
    static int AfterOrZero(DateTimeOffset? a, DateTimeOffset? b)
    {
        if (a == b) return 0;
        if (a is null || b is null) return a is null ? -1 : 1;
        return a > b ? -1 : 1;
    }

    static int Restarts(JsonObject pod) =>
        Obj.Items(pod, "status", "containerStatuses").Select(c => Obj.Int(c, 0, "restartCount")).DefaultIfEmpty(0).Max();

    /// <summary>The pod key (<c>namespace/name</c>) used by expectations.</summary>
    public static string Key(JsonObject pod) => Informer.KeyOf(pod);

    /// <summary>True when every label of <paramref name="templateLabels"/> is on <paramref name="pod"/> with the same value.</summary>
    public static bool FullyLabeled(JsonObject pod, JsonObject? templateLabels) =>
        templateLabels is null || templateLabels.All(kv => kv.Value is JsonValue v && v.TryGetValue<string>(out var s) && Meta.Label(pod, kv.Key) == s);
}
