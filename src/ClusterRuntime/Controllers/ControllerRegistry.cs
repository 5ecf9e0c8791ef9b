// The controllers the controller manager runs: one line each.
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers;

/// <summary>Every controller of the server, in start order.</summary>
public static class ControllerRegistry
{
    /// <summary>Factories of all controllers.</summary>
    public static readonly IReadOnlyList<Func<ControllerContext, IController>> All =
    [
        ctx => new Manifests.ManifestsController(ctx),
        ctx => new Scheduler.Scheduler(ctx),
        ctx => new NodeLifecycle.NodeLifecycleController(ctx),
        ctx => new NodeLifecycle.TaintEvictionController(ctx),
        ctx => new PodGc.PodGcController(ctx),
        ctx => new ReplicaSet.ReplicaSetController(ctx),
        ctx => new Deployment.DeploymentController(ctx),
        ctx => new Endpoints.EndpointSliceController(ctx),
        ctx => new Endpoints.EndpointsController(ctx),
        ctx => new ServiceLb.ServiceLbController(ctx),
        ctx => new NodeIpam.NodeIpamController(ctx),
        ctx => new ServiceAllocation.ServiceAllocationRepair(ctx),
        ctx => new GarbageCollector.GarbageCollectorController(ctx),
        ctx => new Job.JobController(ctx),
        ctx => new CronJob.CronJobController(ctx),
        ctx => new DaemonSet.DaemonSetController(ctx),
        ctx => new StatefulSet.StatefulSetController(ctx),
        ctx => new ClusterRoleAggregation.ClusterRoleAggregationController(ctx),
        ctx => new ServiceAccounts.ServiceAccountsController(ctx),
        ctx => new ServiceAccounts.RootCaCertPublisher(ctx),
        ctx => new ResourceQuota.ResourceQuotaController(ctx),
    ];
}
