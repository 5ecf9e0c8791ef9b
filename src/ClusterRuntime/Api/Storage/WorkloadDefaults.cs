// Upstream's apps/v1 defaults for DaemonSets and StatefulSets (what kubectl rollout status and the controllers rely on).
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Storage;

/// <summary>The <c>SetDefaults_DaemonSet</c> and <c>SetDefaults_StatefulSet</c> of k8s.io/kubernetes/pkg/apis/apps/v1.</summary>
public static class WorkloadDefaults
{
    /// <summary>updateStrategy RollingUpdate (maxUnavailable 1, maxSurge 0), revisionHistoryLimit 10.</summary>
    public static void DaemonSet(JsonObject spec)
    {
        var strategy = Defaults.Obj(spec, "updateStrategy");
        strategy["type"] ??= "RollingUpdate";
        if (strategy["type"]?.GetValueKind() == System.Text.Json.JsonValueKind.String && (string?)strategy["type"] == "RollingUpdate")
        {
            var rolling = Defaults.Obj(strategy, "rollingUpdate");
            rolling["maxUnavailable"] ??= 1;
            rolling["maxSurge"] ??= 0;
        }
        spec["revisionHistoryLimit"] ??= 10;
        if (spec["template"] is JsonObject template) Defaults.PodTemplate(template);
    }

    /// <summary>
    /// replicas 1, podManagementPolicy OrderedReady, updateStrategy RollingUpdate (partition 0),
    /// revisionHistoryLimit 10, persistentVolumeClaimRetentionPolicy Retain/Retain.
    /// </summary>
    public static void StatefulSet(JsonObject spec)
    {
        spec["replicas"] ??= 1;
        spec["podManagementPolicy"] ??= "OrderedReady";
        var strategy = Defaults.Obj(spec, "updateStrategy");
        strategy["type"] ??= "RollingUpdate";
        if (strategy["type"]?.GetValueKind() == System.Text.Json.JsonValueKind.String && (string?)strategy["type"] == "RollingUpdate")
            Defaults.Obj(strategy, "rollingUpdate")["partition"] ??= 0;
        spec["revisionHistoryLimit"] ??= 10;
        var retention = Defaults.Obj(spec, "persistentVolumeClaimRetentionPolicy");
        retention["whenDeleted"] ??= "Retain";
        retention["whenScaled"] ??= "Retain";
        if (spec["template"] is JsonObject template) Defaults.PodTemplate(template);
    }
}
