// The FailedScheduling message: upstream's FitError with the default preemption plugin's part.
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Scheduler;

/// <summary>
/// Words the reasons as kube-scheduler 1.32 does: <c>0/N nodes are available: </c>, then "COUNT reason" entries
/// sorted as strings and joined by ", ", a full stop, then the preemption plugin's own tally of the same shape.
/// </summary>
public static class FitError
{
    /// <summary>The message when there are no nodes at all.</summary>
    public const string NoNodes = "no nodes available to schedule pods";

    /// <summary>The message for <paramref name="pod"/>, which fits none of <paramref name="nodes"/> for <paramref name="misfits"/>.</summary>
    public static string Message(PodFacts pod, IReadOnlyList<NodeInfo> nodes, IReadOnlyDictionary<string, Misfit> misfits)
    {
        var message = Tally(nodes.Count, misfits.Values.SelectMany(m => m.Reasons));
        return message + " " + Preemption(pod, nodes, misfits);
    }

    static string Tally(int nodes, IEnumerable<string> reasons)
    {
        var counts = reasons.GroupBy(r => r, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}").Order(StringComparer.Ordinal).ToList();
        return counts.Count == 0 ? $"0/{nodes} nodes are available." : $"0/{nodes} nodes are available: {string.Join(", ", counts)}.";
    }

    /// <summary>
    /// DefaultPreemption's verdict: nodes rejected for unresolvable reasons are "not helpful"; on the others, a pod
    /// could only make room by evicting lower-priority pods. This scheduler does not preempt: with no lower-priority
    /// pods there are "no victims", and with some, the node is reported with what still does not fit without them.
    /// </summary>
    static string Preemption(PodFacts pod, IReadOnlyList<NodeInfo> nodes, IReadOnlyDictionary<string, Misfit> misfits)
    {
        if (Obj.Str(pod.Spec, "preemptionPolicy") == "Never") return "preemption: not eligible due to preemptionPolicy=Never.";
        var reasons = new List<string>();
        foreach (var node in nodes)
        {
            var misfit = misfits[node.Name];
            if (!misfit.Resolvable)
            {
                reasons.Add("Preemption is not helpful for scheduling");
                continue;
            }
            var victims = node.Pods.Values.Where(p => p.Priority < pod.Priority).ToList();
            var still = victims.Count == 0 ? null : Filters.Check(pod, node, victims);
            if (still is null) reasons.Add("No preemption victims found for incoming pod");
            else reasons.AddRange(still.Reasons);
        }
        return "preemption: " + Tally(nodes.Count, reasons);
    }
}
