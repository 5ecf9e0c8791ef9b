// Unit tests of delete propagation: which GC finalizers a delete leaves, as kube-apiserver's generic store decides.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "Unit")]
public sealed class DeletePropagationTests
{
    static readonly ApiResource ConfigMaps = ResourceTable.Find("", "v1", "configmaps")!;
    static readonly ApiResource Jobs = ResourceTable.Find("batch", "v1", "jobs")!;
    static readonly ApiResource CronJobs = ResourceTable.Find("batch", "v1", "cronjobs")!;
    static readonly ApiResource ReplicaSets = ResourceTable.Find("apps", "v1", "replicasets")!;

    static JsonObject With(params string[] finalizers) => new()
    {
        ["metadata"] = new JsonObject { ["name"] = "x", ["finalizers"] = new JsonArray(finalizers.Select(f => (JsonNode)JsonValue.Create(f)).ToArray()) },
    };

    static string After(ApiResource r, JsonObject obj, string? policy, bool? orphan = null) =>
        string.Join(",", DeletePropagation.FinalizersAfterDelete(r, obj, new DeleteOptions(null, null, policy) { OrphanDependents = orphan }));

    [Fact]
    public void Policies_SetOrReplaceTheGcFinalizers_KeepingOthers()
    {
        Assert.Equal("", After(ConfigMaps, With(), null));
        Assert.Equal("", After(ConfigMaps, With(), "Background"));
        Assert.Equal("foregroundDeletion", After(ConfigMaps, With(), "Foreground"));
        Assert.Equal("orphan", After(ConfigMaps, With(), "Orphan"));
        Assert.Equal("example.com/a,orphan", After(ConfigMaps, With("example.com/a", "foregroundDeletion"), "Orphan"));
        Assert.Equal("example.com/a", After(ConfigMaps, With("example.com/a", "foregroundDeletion"), "Background"));
        // No policy: a GC finalizer already there stays.
        Assert.Equal("foregroundDeletion", After(ConfigMaps, With("foregroundDeletion"), null));
        Assert.Equal("orphan", After(Jobs, With("orphan"), null));
    }

    [Fact]
    public void LegacyOrphanDependents_TrueOrphans_FalseIsBackground()
    {
        Assert.Equal("orphan", After(ConfigMaps, With(), null, orphan: true));
        Assert.Equal("", After(ConfigMaps, With("orphan"), null, orphan: false));
        Assert.Equal("", After(Jobs, With(), null, orphan: false));
    }

    [Fact]
    public void OnlyBatchV1Jobs_OrphanByDefault()
    {
        Assert.Equal("orphan", After(Jobs, With(), null));
        Assert.Equal("", After(Jobs, With(), "Background"));
        Assert.Equal("", After(CronJobs, With(), null));
        Assert.Equal("", After(ReplicaSets, With(), null));
    }
}
