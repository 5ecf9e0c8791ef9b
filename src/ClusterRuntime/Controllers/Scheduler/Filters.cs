// The filter plugins of upstream's default profile that apply here, in its order, with its reasons.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Scheduler;

/// <summary>Why a node does not fit: upstream's reasons, and whether preempting pods could change that.</summary>
/// <param name="Reasons">Reasons as the FailedScheduling message counts them.</param>
/// <param name="Resolvable">False for UnschedulableAndUnresolvable (taints, affinity, unschedulable nodes).</param>
public sealed record Misfit(IReadOnlyList<string> Reasons, bool Resolvable);

/// <summary>
/// NodeUnschedulable, TaintToleration, NodeAffinity, NodePorts and NodeResourcesFit, run in that order; the first
/// plugin that rejects a node decides its reasons (NodeResourcesFit names every resource that is short).
/// </summary>
public static class Filters
{
    /// <summary>The taint the node lifecycle puts on cordoned nodes; tolerating it lets a pod onto one.</summary>
    public const string UnschedulableTaint = "node.kubernetes.io/unschedulable";

    /// <summary>Null when <paramref name="pod"/> fits <paramref name="node"/>, else why not.</summary>
    /// <param name="pod">The pod.</param>
    /// <param name="node">The node and what is placed on it.</param>
    /// <param name="without">Pods to leave out of the node's usage (preemption's what-if), or null.</param>
    public static Misfit? Check(PodFacts pod, NodeInfo node, IReadOnlyCollection<PodFacts>? without = null)
    {
        var obj = node.Node!;
        if (Obj.Bool(obj, "spec", "unschedulable") == true
            && !new Taint(UnschedulableTaint, "", "NoSchedule").ToleratedBy(pod.Tolerations))
            return new(["node(s) were unschedulable"], false);
        foreach (var taint in EffectiveTaints(obj))
            if (taint.Effect is "NoSchedule" or "NoExecute" && !taint.ToleratedBy(pod.Tolerations))
                return new([$"node(s) had untolerated taint {{{taint.Key}: {taint.Value}}}"], false);
        if (!NodeAffinity.Matches(pod.Spec, obj))
            return new(["node(s) didn't match Pod's node affinity/selector"], false);
        var others = without is null ? node.Pods.Values : node.Pods.Values.Except(without);
        if (pod.Ports.Count > 0 && others.Any(p => p.Ports.Any(used => pod.Ports.Any(used.Conflicts))))
            return new(["node(s) didn't have free ports for the requested pod ports"], true);
        var short_ = Insufficient(pod, node, without);
        return short_.Count == 0 ? null : new(short_, true);
    }

    /// <summary>
    /// The node's taints, plus the not-ready or unreachable NoSchedule taint its Ready condition implies when the node
    /// lifecycle controller has not put it there yet (so a node that is not Ready never takes new pods).
    /// </summary>
    public static IEnumerable<Taint> EffectiveTaints(JsonObject node)
    {
        var taints = Taint.Of(node);
        var ready = Obj.Items(node, "status", "conditions").FirstOrDefault(c => Obj.Str(c, "type") == "Ready");
        var implied = Obj.Str(ready, "status") switch
        {
            "True" => null,
            "Unknown" => Defaults.UnreachableTaint,
            _ => Defaults.NotReadyTaint,
        };
        if (implied is not null && !taints.Any(t => t.Key == implied && t.Effect == "NoSchedule"))
            taints.Add(new Taint(implied, "", "NoSchedule"));
        return taints;
    }

    /// <summary>NodeResourcesFit: pod count first, then cpu, memory, ephemeral-storage and other resources asked for.</summary>
    static List<string> Insufficient(PodFacts pod, NodeInfo node, IReadOnlyCollection<PodFacts>? without)
    {
        var requested = new Dictionary<string, long>(node.Requested, StringComparer.Ordinal);
        var count = node.Pods.Count;
        foreach (var p in without ?? [])
        {
            PodFacts.Subtract(requested, p.Requests);
            count--;
        }
        var reasons = new List<string>();
        if ((count + 1) * 1000L > node.Allocatable.GetValueOrDefault("pods")) reasons.Add("Too many pods");
        var names = pod.Requests.Where(r => r.Value > 0 && r.Key != "pods").Select(r => r.Key)
            .OrderBy(n => n switch { "cpu" => 0, "memory" => 1, "ephemeral-storage" => 2, _ => 3 }).ThenBy(n => n, StringComparer.Ordinal);
        foreach (var name in names)
            if (node.Allocatable.GetValueOrDefault(name) < pod.Requests[name] + requested.GetValueOrDefault(name))
                reasons.Add("Insufficient " + name);
        return reasons;
    }
}
