// The controllers the controller manager runs: one line each.
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers;

/// <summary>Every controller of the server, in start order.</summary>
public static class ControllerRegistry
{
    /// <summary>Factories of all controllers.</summary>
    public static readonly IReadOnlyList<Func<ControllerContext, IController>> All =
    [
        ctx => new DaemonSet.DaemonSetController(ctx),
        ctx => new StatefulSet.StatefulSetController(ctx),
    ];
}
