// Pure parts of the agent: server failover order, Endpoints parsing, renewal timing, flags, condition transition times.
using Appliance.Common.Pki;
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Join;
using Appliance.ClusterRuntime.Agent.Node;
using Appliance.ClusterRuntime.Pki;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "Unit")]
public sealed class JoinUnitTests
{
    [Fact]
    public void ServerList_MovesToTheNextServer_OnlyWhenTheFailedOneIsCurrent_AndKeepsTheGivenOne()
    {
        var list = new ServerList(new Uri("https://10.0.0.1:6443"));
        Assert.True(list.Learn([new Uri("https://10.0.0.3:6443/"), new Uri("https://10.0.0.2:6443/"), new Uri("https://10.0.0.1:6443/")]));
        Assert.Equal(["https://10.0.0.1:6443/", "https://10.0.0.2:6443/", "https://10.0.0.3:6443/"], list.All.Select(u => u.ToString()));
        Assert.Equal("https://10.0.0.2:6443/", list.Failed(new Uri("https://10.0.0.1:6443/")).ToString());
        // A late failure report for a server no longer current changes nothing.
        Assert.Equal("https://10.0.0.2:6443/", list.Failed(new Uri("https://10.0.0.1:6443/")).ToString());
        Assert.False(list.Learn([new Uri("https://10.0.0.2:6443/"), new Uri("https://10.0.0.3:6443/")]));
        list.Learn([]);
        Assert.Equal(["https://10.0.0.1:6443/"], list.All.Select(u => u.ToString()));
    }

    [Fact]
    public async Task Failover_ThatTimesOut_SaysSo_NotTheCancellationsText()
    {
        var list = new ServerList(new Uri("https://10.0.0.1:6443"));
        list.Learn([new Uri("https://10.0.0.2:6443/")]);
        using var client = new HttpClient(new FailoverHandler(list, new SilentHandler()) { AttemptTimeout = TimeSpan.FromMilliseconds(100) });
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("https://10.0.0.1:6443/version", TestContext.Current.CancellationToken));
        Assert.Equal("no API server answered (tried https://10.0.0.1:6443/, https://10.0.0.2:6443/): no answer within 0.1 s", e.Message);
        Assert.IsAssignableFrom<OperationCanceledException>(e.InnerException);
    }

    /// <summary>A server that never answers.</summary>
    private sealed class SilentHandler : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("not reached");
        }
    }

    [Fact]
    public void FromEndpoints_ListsEveryAddressWithEveryPortOfItsSubset()
    {
        var endpoints = JsonNode.Parse("""
            {"subsets":[{"addresses":[{"ip":"10.0.0.1"},{"ip":"10.0.0.2"}],"ports":[{"name":"https","port":6443}]},
                        {"addresses":[{"ip":"fd00::1"}],"ports":[{"name":"https","port":7443}]}]}
            """)!.AsObject();
        Assert.Equal(["https://10.0.0.1:6443/", "https://10.0.0.2:6443/", "https://[fd00::1]:7443/"],
            ServerDiscovery.FromEndpoints(endpoints).Select(u => u.ToString()));
    }

    [Fact]
    public void NeedsRenewal_AtATHirdOfTheLifetimeLeft_AndWhenExpiredOrMissing()
    {
        var ca = CertificateFactory.CreateCa("test-ca", DateTimeOffset.UtcNow);
        var now = DateTimeOffset.UtcNow;
        using var key = System.Security.Cryptography.ECDsa.Create();
        var publicKey = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=x", key, System.Security.Cryptography.HashAlgorithmName.SHA256).PublicKey;
        var pair = new PemPair(CertificateFactory.Sign(ca, "CN=system:node:n", publicKey, now, TimeSpan.FromDays(365), false, null), key.ExportPkcs8PrivateKeyPem());
        Assert.False(NodeCredentials.NeedsRenewal(pair, now));
        Assert.False(NodeCredentials.NeedsRenewal(pair, now.AddDays(230)));
        Assert.True(NodeCredentials.NeedsRenewal(pair, now.AddDays(250)));
        Assert.True(NodeCredentials.NeedsRenewal(pair, now.AddYears(5)));
        Assert.True(NodeCredentials.NeedsRenewal(null, now));
    }

    [Theory]
    [InlineData("a=b:NoSchedule", "a", "b", "NoSchedule")]
    [InlineData("example.com/dedicated:NoExecute", "example.com/dedicated", null, "NoExecute")]
    public void Taint_Parses(string text, string key, string? value, string effect) =>
        Assert.Equal(new Taint(key, value, effect), Taint.Parse(text));

    [Theory]
    [InlineData("a=b", "is not key=value:Effect")]
    [InlineData("a=b:Never", "effect \"Never\"")]
    [InlineData("-a=b:NoSchedule", "key")]
    public void Taint_RefusesWithTheFlagAndTheReason(string text, string says)
    {
        var e = Assert.Throws<ArgumentException>(() => Taint.Parse(text));
        Assert.StartsWith("--node-taint:", e.Message);
        Assert.Contains(says, e.Message);
    }

    [Fact]
    public void NodeStatus_KeepsTransitionTime_WhileAConditionHolds_AndPushesOnlyRealChanges()
    {
        var m = new MachineInfo(2, 4L << 30, 2L << 30, 100L << 30, 50L << 30, 100, 32768, "6.1.0", "Debian", "amd64", "m", "b", "u");
        var notReady = new RuntimeReport(false, "NetworkPluginNotReady", "cni config uninitialized", "containerd://1.6.20");
        var t0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z");
        var first = NodeStatus.Build("n", IPAddress.Parse("192.0.2.1"), m, notReady, null, t0);
        var second = NodeStatus.Build("n", IPAddress.Parse("192.0.2.1"), m, notReady, first["conditions"]!.AsArray(), t0.AddMinutes(1));
        Assert.False(NodeStatus.Changed(first, second));
        var ready = NodeStatus.Build("n", IPAddress.Parse("192.0.2.1"), m, notReady with { Ready = true }, second["conditions"]!.AsArray(), t0.AddMinutes(2));
        Assert.True(NodeStatus.Changed(second, ready));
        JsonObject Cond(JsonObject s, string type) => s["conditions"]!.AsArray().Single(c => (string?)c!["type"] == type)!.AsObject();
        Assert.Equal("2026-01-01T00:00:00Z", (string?)Cond(second, "Ready")["lastTransitionTime"]);
        Assert.Equal("2026-01-01T00:02:00Z", (string?)Cond(ready, "Ready")["lastTransitionTime"]);
        Assert.Equal("2026-01-01T00:00:00Z", (string?)Cond(ready, "MemoryPressure")["lastTransitionTime"]);
        Assert.Equal("NetworkPluginNotReady", (string?)Cond(first, "Ready")["reason"]);
        Assert.Equal("containerd://1.6.20", (string?)first["nodeInfo"]!["containerRuntimeVersion"]);
    }

    [Fact]
    public void NodeStatus_ListsImages_LargestFirst_AtMostFifty_AndANewImageIsAChange()
    {
        var m = new MachineInfo(2, 4L << 30, 2L << 30, 100L << 30, 50L << 30, 100, 32768, "6.1.0", "Debian", "amd64", "m", "b", "u");
        var images = Enumerable.Range(1, 60).Select(i => new NodeImage([$"sha256:{i:x64}", $"example.local/img-{i}:1"], i * 1000L)).ToList();
        var report = new RuntimeReport(true, "KubeletReady", "ready", "containerd://1.6.20") { Images = images };
        var t0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z");
        var status = NodeStatus.Build("n", IPAddress.Parse("192.0.2.1"), m, report, null, t0);
        var listed = status["images"]!.AsArray();
        Assert.Equal(NodeStatus.MaxImages, listed.Count);
        Assert.Equal(60_000, (long)listed[0]!["sizeBytes"]!);
        Assert.Equal(["sha256:" + 60.ToString("x64"), "example.local/img-60:1"], listed[0]!["names"]!.AsArray().Select(n => (string)n!));
        Assert.Equal(11_000, (long)listed[^1]!["sizeBytes"]!);
        var fewer = NodeStatus.Build("n", IPAddress.Parse("192.0.2.1"), m, report with { Images = images.Take(3).ToList() }, status["conditions"]!.AsArray(), t0);
        Assert.True(NodeStatus.Changed(status, fewer));
    }
}
