// Probe parsing (upstream defaults, named ports) and the threshold rule, without a runtime.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Kubelet.Probes;

namespace Appliance.ClusterRuntime.Tests.Agent.Kubelet;

public sealed class ProbeSpecTests
{
    static JsonObject Container(JsonObject? probe, string field = "livenessProbe") => new()
    {
        ["name"] = "c",
        ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["containerPort"] = 8080 }),
        [field] = probe,
    };

    [Fact]
    public void Defaults_AreUpstreams_AndLivenessSuccessThresholdIsAlwaysOne()
    {
        var p = ProbeSpec.Of(Container(new JsonObject { ["tcpSocket"] = new JsonObject { ["port"] = 80 }, ["successThreshold"] = 5 }), ProbeKind.Liveness)!;
        Assert.Equal((TimeSpan.Zero, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1), 1, 3),
            (p.InitialDelay, p.Period, p.Timeout, p.SuccessThreshold, p.FailureThreshold));
        var r = ProbeSpec.Of(Container(new JsonObject { ["exec"] = new JsonObject(), ["successThreshold"] = 2, ["periodSeconds"] = 1 }, "readinessProbe"), ProbeKind.Readiness)!;
        Assert.Equal((2, TimeSpan.FromSeconds(1)), (r.SuccessThreshold, r.Period));
        Assert.Null(ProbeSpec.Of(Container(null), ProbeKind.Liveness));
        Assert.Null(ProbeSpec.Of(Container(new JsonObject { ["exec"] = new JsonObject() }), ProbeKind.Startup));
        Assert.Null(ProbeSpec.Of(Container(new JsonObject { ["grpc"] = new JsonObject { ["port"] = 9 } }), ProbeKind.Liveness));
    }

    [Fact]
    public void Port_IsANumber_ANumericString_OrANamedContainerPort()
    {
        var c = Container(null);
        Assert.Equal(81, ProbeSpec.Port(JsonValue.Create(81), c));
        Assert.Equal(82, ProbeSpec.Port(JsonValue.Create("82"), c));
        Assert.Equal(8080, ProbeSpec.Port(JsonValue.Create("http"), c));
        var e = Assert.Throws<InvalidOperationException>(() => ProbeSpec.Port(JsonValue.Create("grpc"), c));
        Assert.Contains("\"grpc\"", e.Message);
    }

    [Fact]
    public void Counter_FlipsOnlyAfterThresholdResultsInARow()
    {
        var ready = new ProbeCounter(successThreshold: 2, failureThreshold: 3, initial: false);
        Assert.False(ready.Record(true));
        Assert.False(ready.Record(false));
        Assert.False(ready.Record(true));
        Assert.True(ready.Record(true));
        Assert.True(ready.Result);
        Assert.False(ready.Record(false));
        Assert.False(ready.Record(false));
        Assert.False(ready.Record(true));
        Assert.False(ready.Record(false));
        Assert.False(ready.Record(false));
        Assert.True(ready.Record(false));
        Assert.False(ready.Result);

        var startup = new ProbeCounter(1, 2, initial: null);
        Assert.Null(startup.Result);
        Assert.False(startup.Record(false));
        Assert.True(startup.Record(false));
        Assert.False(startup.Result);
    }
}
