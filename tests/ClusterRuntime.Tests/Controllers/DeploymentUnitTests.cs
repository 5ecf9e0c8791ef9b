// Unit tests of the Deployment and ReplicaSet controllers' pure parts: template hash, fenceposts, deletion order, defaults.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Deployment;
using Appliance.ClusterRuntime.Controllers.ReplicaSet;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "Unit")]
public sealed class DeploymentUnitTests
{
    static JsonObject Template(string image, string extra = "") =>
        JsonNode.Parse("{\"metadata\":{\"labels\":{\"app\":\"web\"}" + extra + "},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"" + image + "\"}]}}")!.AsObject();

    [Fact]
    public void Hash_IsDeterministic_IgnoresKeyOrderAndEmptyFields_ChangesWithTemplateAndCollisionCount()
    {
        var a = DeploymentUtil.ComputeHash(Template("nginx:1.25"), null);
        Assert.Equal(a, DeploymentUtil.ComputeHash(Template("nginx:1.25"), null));
        Assert.Matches("^[bcdfghjklmnpqrstvwxz2456789]{1,10}$", a);
        var reordered = JsonNode.Parse("""{"spec":{"containers":[{"image":"nginx:1.25","name":"c","resources":{}}]},"metadata":{"creationTimestamp":null,"labels":{"app":"web"}}}""")!.AsObject();
        Assert.Equal(a, DeploymentUtil.ComputeHash(reordered, null));
        Assert.NotEqual(a, DeploymentUtil.ComputeHash(Template("nginx:1.26"), null));
        Assert.NotEqual(a, DeploymentUtil.ComputeHash(Template("nginx:1.25"), 1));
        Assert.NotEqual(DeploymentUtil.ComputeHash(Template("nginx:1.25"), 1), DeploymentUtil.ComputeHash(Template("nginx:1.25"), 2));
    }

    [Fact]
    public void EqualIgnoreHash_IgnoresOnlyTheHashLabel()
    {
        Assert.True(DeploymentUtil.EqualIgnoreHash(Template("x"), Template("x", ""","annotations":{}""")));
        var hashed = Template("x");
        hashed["metadata"]!["labels"]!["pod-template-hash"] = "abc";
        Assert.True(DeploymentUtil.EqualIgnoreHash(hashed, Template("x")));
        Assert.False(DeploymentUtil.EqualIgnoreHash(Template("x"), Template("y")));
        Assert.False(DeploymentUtil.EqualIgnoreHash(Template("x"), Template("x", ""","annotations":{"a":"b"}""")));
    }

    [Theory]
    [InlineData(3, "25%", "25%", 1, 0)]
    [InlineData(10, "25%", "25%", 3, 2)]
    [InlineData(4, "1", "1", 1, 1)]
    [InlineData(4, "0", "0", 0, 1)]
    [InlineData(5, "0%", "0%", 0, 1)]
    [InlineData(1, "100%", "50%", 1, 0)]
    public void Fenceposts_RoundSurgeUpAndUnavailableDown(int replicas, string surge, string unavailable, int wantSurge, int wantUnavailable)
    {
        JsonNode Value(string s) => int.TryParse(s, out var i) ? JsonValue.Create(i) : JsonValue.Create(s);
        var d = new JsonObject
        {
            ["spec"] = new JsonObject
            {
                ["replicas"] = replicas,
                ["strategy"] = new JsonObject { ["type"] = "RollingUpdate", ["rollingUpdate"] = new JsonObject { ["maxSurge"] = Value(surge), ["maxUnavailable"] = Value(unavailable) } },
            },
        };
        Assert.Equal((wantSurge, wantUnavailable), DeploymentUtil.Fenceposts(d));
        d["spec"]!["strategy"] = new JsonObject { ["type"] = "Recreate" };
        Assert.Equal(0, DeploymentUtil.MaxSurge(d));
        Assert.Equal(0, DeploymentUtil.MaxUnavailable(d));
    }

    [Fact]
    public void Scaled_RefusesAStringThatIsNotAPercentage() =>
        Assert.Throws<InvalidOperationException>(() => DeploymentUtil.Scaled(JsonValue.Create("ten"), 10, true));

    static JsonObject Pod(string name, string? node, string phase, bool ready, string created = "2026-01-01T00:00:00Z") => new()
    {
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "n", ["creationTimestamp"] = created },
        ["spec"] = new JsonObject { ["nodeName"] = node },
        ["status"] = new JsonObject
        {
            ["phase"] = phase,
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready ? "True" : "False", ["lastTransitionTime"] = created }),
        },
    };

    [Fact]
    public void SurplusPods_AreDeletedUnscheduledThenPendingThenNotReadyThenNewest()
    {
        var pods = new List<JsonObject>
        {
            Pod("ready-old", "n1", "Running", true, "2026-01-01T00:00:00Z"),
            Pod("ready-new", "n1", "Running", true, "2026-01-01T00:05:00Z"),
            Pod("not-ready", "n1", "Running", false),
            Pod("pending", "n1", "Pending", false),
            Pod("unscheduled", null, "Pending", false),
        };
        var order = PodRanking.ToDelete(pods, pods, 4).Select(p => p["metadata"]!["name"]!.GetValue<string>());
        Assert.Equal(["unscheduled", "pending", "not-ready", "ready-new"], order);
    }

    [Fact]
    public void SurplusPods_OnACrowdedNodeGoFirst()
    {
        var alone = Pod("alone", "n1", "Running", true);
        var crowded = Pod("crowded", "n2", "Running", true);
        var sibling = Pod("sibling", "n2", "Running", true);
        Assert.Equal("crowded", PodRanking.ToDelete([alone, crowded], [alone, crowded, sibling], 1)[0]["metadata"]!["name"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("nginx", "Always")]
    [InlineData("nginx:latest", "Always")]
    [InlineData("nginx:1.25", "IfNotPresent")]
    [InlineData("registry.local:5000/app", "Always")]
    [InlineData("registry.local:5000/app:2", "IfNotPresent")]
    [InlineData("app@sha256:0123", "IfNotPresent")]
    public void DeploymentDefaults_FillStrategyHistoryDeadlineAndTemplate(string image, string pullPolicy)
    {
        var r = ResourceTable.Resources.First(x => x.Kind == "Deployment");
        var d = new JsonObject { ["spec"] = new JsonObject { ["strategy"] = new JsonObject(), ["template"] = Template(image) } };
        Defaults.Apply(r, d, creating: true);
        var spec = d["spec"]!;
        Assert.Equal("RollingUpdate", spec["strategy"]!["type"]!.GetValue<string>());
        Assert.Equal("25%", spec["strategy"]!["rollingUpdate"]!["maxSurge"]!.GetValue<string>());
        Assert.Equal("25%", spec["strategy"]!["rollingUpdate"]!["maxUnavailable"]!.GetValue<string>());
        Assert.Equal(10, spec["revisionHistoryLimit"]!.GetValue<int>());
        Assert.Equal(600, spec["progressDeadlineSeconds"]!.GetValue<int>());
        Assert.Equal(1, spec["replicas"]!.GetValue<int>());
        var pod = spec["template"]!["spec"]!;
        Assert.Equal("Always", pod["restartPolicy"]!.GetValue<string>());
        Assert.Equal("ClusterFirst", pod["dnsPolicy"]!.GetValue<string>());
        Assert.Equal("default-scheduler", pod["schedulerName"]!.GetValue<string>());
        Assert.Equal(30, pod["terminationGracePeriodSeconds"]!.GetValue<int>());
        var c = pod["containers"]![0]!;
        Assert.Equal(pullPolicy, c["imagePullPolicy"]!.GetValue<string>());
        Assert.Equal("/dev/termination-log", c["terminationMessagePath"]!.GetValue<string>());
        Assert.Equal("File", c["terminationMessagePolicy"]!.GetValue<string>());

        var recreate = new JsonObject { ["spec"] = new JsonObject { ["strategy"] = new JsonObject { ["type"] = "Recreate" } } };
        Defaults.Apply(r, recreate, creating: true);
        Assert.Null(recreate["spec"]!["strategy"]!["rollingUpdate"]);
    }
}
