// Queues a Service's key when the Service, or a pod it selects (before or after a change), changes.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Endpoints;

/// <summary>The informer wiring both endpoints controllers share.</summary>
public static class ServiceQueue
{
    /// <summary>Registers handlers on the Service and Pod informers that feed <paramref name="queue"/> with Service keys.</summary>
    public static void Wire(Informer services, Informer pods, WorkQueue queue)
    {
        services.OnChange((old, cur) => queue.Add(Informer.KeyOf((cur ?? old)!)));
        pods.OnChange((old, cur) =>
        {
            var pod = (cur ?? old)!;
            foreach (var svc in services.ByIndex(SharedInformers.ByNamespace, Meta.Namespace(pod) ?? ""))
                if ((cur is not null && PodEndpoints.Selects(svc, cur)) || (old is not null && PodEndpoints.Selects(svc, old)))
                    queue.Add(Informer.KeyOf(svc));
        });
    }

    /// <summary>The pods of the Service's namespace its selector matches.</summary>
    public static IEnumerable<JsonObject> Selected(Informer pods, JsonObject svc) =>
        pods.ByIndex(SharedInformers.ByNamespace, Meta.Namespace(svc) ?? "").Where(p => PodEndpoints.Selects(svc, p));
}
