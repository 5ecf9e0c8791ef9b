// The heartbeat against a real server: a runtime that turns ready between two lease ticks makes the Node Ready at once.
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Node;
using Appliance.ClusterRuntime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NodeHeartbeatTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A runtime that is not ready (no CNI config yet) until <see cref="Ready"/> is set.</summary>
    sealed class SwitchedRuntime : IRuntimeStatus
    {
        public volatile bool Ready;
        public int Reads;

        public Task<RuntimeReport> ReadAsync(CancellationToken ct)
        {
            Interlocked.Increment(ref Reads);
            return Task.FromResult(Ready
                ? new RuntimeReport(true, "KubeletReady", "kubelet is posting ready status", "containerd://test")
                : new RuntimeReport(false, "KubeletNotReady", "container runtime network not ready: NetworkReady=false", "containerd://test"));
        }
    }

    [Fact]
    public async Task NotReadyNode_TurnsReadyWithinAPoll_NotAtTheNextLeaseTick_ThenPollingStops()
    {
        using var api = new ApiClient(fixture.Server.CreateClient());
        var node = "hb-" + Guid.NewGuid().ToString("N")[..8];
        await api.CreateAsync("/api/v1/nodes", new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Node", ["metadata"] = new JsonObject { ["name"] = node } }, Ct);
        using var dir = new TempDir();
        var runtime = new SwitchedRuntime();
        // A lease interval far longer than the test: only the not-ready poll can bring Ready in time.
        var heartbeat = new NodeHeartbeat(api, node, IPAddress.Loopback, dir.Path, runtime, NullLogger.Instance, TimeProvider.System)
        {
            LeaseInterval = TimeSpan.FromMinutes(5),
            NotReadyPoll = TimeSpan.FromMilliseconds(200),
        };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = heartbeat.RunAsync(stop.Token);
        try
        {
            Assert.Equal("False", await Poll.UntilAsync(async () => await ReadyAsync(api, node), s => s is not null, TimeSpan.FromSeconds(30), "the first status push"));
            await Task.Delay(500, Ct);
            var clock = Stopwatch.StartNew();
            runtime.Ready = true;
            Assert.Equal("True", await Poll.UntilAsync(async () => await ReadyAsync(api, node), s => s == "True", TimeSpan.FromSeconds(60), "Ready=True"));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"Ready after {clock.Elapsed}");
            // Ready: back to one read per lease tick.
            var reads = runtime.Reads;
            await Task.Delay(1000, Ct);
            Assert.Equal(reads, runtime.Reads);
        }
        finally
        {
            stop.Cancel();
            await run;
        }
    }

    static async Task<string?> ReadyAsync(ApiClient api, string node) =>
        (await api.GetAsync($"/api/v1/nodes/{node}", Ct))?["status"]?["conditions"]?.AsArray()
            .FirstOrDefault(c => c?["type"]?.GetValue<string>() == "Ready")?["status"]?.GetValue<string>();
}
