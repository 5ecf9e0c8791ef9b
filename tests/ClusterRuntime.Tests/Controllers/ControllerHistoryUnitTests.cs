// Revision data and hashes shared by the DaemonSet and StatefulSet controllers, and StatefulSet pod identity.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.History;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.StatefulSet;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "Unit")]
public sealed class ControllerHistoryUnitTests
{
    static JsonObject Set(string template) => JsonNode.Parse(
        """{"metadata":{"name":"web","namespace":"n","uid":"u"},"spec":{"serviceName":"svc","selector":{"matchLabels":{"app":"w"}},"template":""" + template
        + ""","volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"resources":{"requests":{"storage":"1Gi"}}}}]}}""")!.AsObject();

    [Fact]
    public void RevisionData_IsTheTemplateReplacePatch_WithKeyOrderIgnored()
    {
        var a = RevisionData.Of(Set("""{"metadata":{"labels":{"app":"w"}},"spec":{"containers":[{"name":"c","image":"i:1"}]}}"""));
        var b = RevisionData.Of(Set("""{"spec":{"containers":[{"image":"i:1","name":"c"}]},"metadata":{"labels":{"app":"w"}}}"""));
        var c = RevisionData.Of(Set("""{"metadata":{"labels":{"app":"w"}},"spec":{"containers":[{"name":"c","image":"i:2"}]}}"""));
        Assert.Equal("""{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"w"}},"spec":{"containers":[{"image":"i:1","name":"c"}]}}}}""", a.ToJsonString());
        Assert.True(RevisionData.Equal(a, b));
        Assert.False(RevisionData.Equal(a, c));
        Assert.Equal(RevisionData.Hash(a, null), RevisionData.Hash(b, null));
        Assert.NotEqual(RevisionData.Hash(a, null), RevisionData.Hash(c, null));
        Assert.NotEqual(RevisionData.Hash(a, null), RevisionData.Hash(a, 1)); // a collision count changes the name
        Assert.Matches("^[bcdfghjklmnpqrstvwxz2456789]+$", RevisionData.Hash(a, null));
        Assert.Equal("web-abc", ControllerHistory.Name("web", "abc"));
        Assert.Equal(new string('x', 223) + "-h", ControllerHistory.Name(new string('x', 300), "h"));
    }

    [Fact]
    public void StatefulPod_HasIdentityClaimVolumeAndRevision()
    {
        var set = Set("""{"metadata":{"labels":{"app":"w"}},"spec":{"containers":[{"name":"c","image":"i"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"tmp","emptyDir":{}}]}}""");
        var pod = StatefulPods.NewPod(set, Obj.Resource("apps", "statefulsets"), RevisionData.Template(new JsonObject { ["data"] = RevisionData.Of(set) }), 2, "web-abc");
        Assert.Equal("web-2", pod["metadata"]!["name"]!.GetValue<string>());
        var labels = pod["metadata"]!["labels"]!;
        Assert.Equal(("web-2", "2", "web-abc", "w"), (labels["statefulset.kubernetes.io/pod-name"]!.GetValue<string>(), labels["apps.kubernetes.io/pod-index"]!.GetValue<string>(),
            labels["controller-revision-hash"]!.GetValue<string>(), labels["app"]!.GetValue<string>()));
        Assert.Equal(("web-2", "svc"), (pod["spec"]!["hostname"]!.GetValue<string>(), pod["spec"]!["subdomain"]!.GetValue<string>()));
        var volumes = pod["spec"]!["volumes"]!.AsArray();
        Assert.Equal(["data", "tmp"], volumes.Select(v => v!["name"]!.GetValue<string>()));
        Assert.Equal("data-web-2", volumes[0]!["persistentVolumeClaim"]!["claimName"]!.GetValue<string>());
        Assert.Equal(2, StatefulPods.Ordinal(set, pod));
        Assert.Equal(-1, StatefulPods.Ordinal(set, JsonNode.Parse("""{"metadata":{"name":"web-02"}}""")!.AsObject()));
        var claim = StatefulPods.Claims(set, Obj.Resource("apps", "statefulsets"), "web-2").Single();
        Assert.Equal(("data-web-2", "w"), (claim["metadata"]!["name"]!.GetValue<string>(), claim["metadata"]!["labels"]!["app"]!.GetValue<string>()));
        Assert.Null(claim["metadata"]!["ownerReferences"]); // Retain by default
    }
}
