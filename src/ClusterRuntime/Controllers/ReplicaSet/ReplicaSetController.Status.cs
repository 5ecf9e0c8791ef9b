// The status a ReplicaSet controller writes: replica counts, observedGeneration, the ReplicaFailure condition.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.Workloads;

namespace Appliance.ClusterRuntime.Controllers.ReplicaSet;

public sealed partial class ReplicaSetController
{
    /// <summary>Writes the status computed from <paramref name="pods"/> when it differs from the stored one; returns it.</summary>
    async Task<JsonObject> UpdateStatusAsync(JsonObject rs, List<JsonObject> pods, ApiException? failure, int diff, CancellationToken ct)
    {
        var status = CalculateStatus(rs, pods, failure, diff, _ctx.Clock.GetUtcNow());
        if (JsonNode.DeepEquals(status, Obj.At(rs, "status"))) return status;
        try
        {
            await _ctx.Store.UpdateAsync(ReplicaSets, Meta.Namespace(rs), Meta.Name(rs)!, cur =>
            {
                cur["status"] = status.DeepClone();
                return cur;
            }, statusOnly: true, ct);
        }
        catch (ApiException e) when (e.Code == 404)
        {
        }
        return status;
    }

    /// <summary>
    /// Upstream's calculateStatus: zero counts are left out as its JSON does (<c>omitempty</c>), except replicas; a
    /// failed create or delete sets ReplicaFailure (FailedCreate, FailedDelete), a sync without failure removes it.
    /// </summary>
    public static JsonObject CalculateStatus(JsonObject rs, List<JsonObject> pods, ApiException? failure, int diff, DateTimeOffset now)
    {
        var templateLabels = Obj.Object(rs, "spec", "template", "metadata", "labels");
        var minReady = Obj.Int(rs, 0, "spec", "minReadySeconds");
        var status = new JsonObject { ["replicas"] = pods.Count };
        PutCount(status, "fullyLabeledReplicas", pods.Count(p => PodRanking.FullyLabeled(p, templateLabels)));
        PutCount(status, "readyReplicas", pods.Count(PodState.IsReady));
        PutCount(status, "availableReplicas", pods.Count(p => PodState.IsAvailable(p, minReady, now)));
        if (Obj.Long(rs, "metadata", "generation") is long generation) status["observedGeneration"] = generation;
        var conditions = new JsonArray(Obj.Items(rs, "status", "conditions").Select(c => (JsonNode)c.DeepClone()).ToArray());
        var existing = conditions.OfType<JsonObject>().FirstOrDefault(c => Obj.Str(c, "type") == "ReplicaFailure");
        if (failure is not null && existing is null)
            conditions.Add((JsonNode)new JsonObject
            {
                ["type"] = "ReplicaFailure",
                ["status"] = "True",
                ["lastTransitionTime"] = Obj.Time(now),
                ["reason"] = diff < 0 ? "FailedCreate" : "FailedDelete",
                ["message"] = failure.Message,
            });
        else if (failure is null && existing is not null) conditions.Remove(existing);
        if (conditions.Count > 0) status["conditions"] = conditions;
        return status;
    }

    static void PutCount(JsonObject status, string field, int count)
    {
        if (count != 0) status[field] = count;
    }
}
