// Two servers on one PostgreSQL datastore: the agent learns both and keeps its node alive when its server dies.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Datastore;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class JoinFailoverTests(PostgresServerFixture pg) : IClassFixture<PostgresServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    const string Leading = "became the leader";

    [Fact]
    public async Task AgentOnTheFollower_FailsOverToTheLeader_WhenItsServerIsKilled_AndTheNodeStaysReady()
    {
        if (pg.SkipReason is not null) Assert.Skip(pg.SkipReason);
        var endpoint = await pg.CreateDatabaseAsync();
        using var dir = new TempDir("join-ha-");
        // A 15 s grace period: a node whose Lease stopped would be Unknown 15 s after the kill.
        string[] grace = ["--datastore-endpoint", endpoint, "--node-monitor-grace-period", "15s"];
        await using var a = await RuntimeProcess.StartAsync(dir["a"], RuntimeProcess.FreePort(), grace);
        // Servers of one cluster share its CAs and token (K3s shares them through the datastore); here by copy.
        Directory.CreateDirectory(dir["b/tls"]);
        foreach (var file in Directory.GetFiles(dir["a/tls"])) File.Copy(file, Path.Combine(dir["b/tls"], Path.GetFileName(file)));
        foreach (var name in new[] { "token", "admin-token" }) File.Copy(dir["a/" + name], dir["b/" + name]);
        await using var b = await RuntimeProcess.StartAsync(dir["b"], RuntimeProcess.FreePort(), grace);
        await Poll.UntilAsync(() => Task.FromResult(a.Log.Contains(Leading) || b.Log.Contains(Leading)), ok => ok, TimeSpan.FromSeconds(30), "a leader");
        var (leader, follower) = a.Log.Contains(Leading) ? (a, b) : (b, a);

        // A real runtime, so the node is Ready: containerd in a network namespace of the test (ContainerdHost), with a
        // CNI config; the agent attaches to its socket.
        await using var containerd = await ContainerdHost.StartAsync();
        File.WriteAllText(Path.Combine(containerd["cni"], "10-test.conflist"), JoinAgent.CniConflist);
        // The agent is given the follower only, so the controllers judging its node keep running on the leader.
        await using var agent = JoinAgent.Start(JoinAgent.Url(follower), JoinAgent.Token(follower), dir["agent"], "--node-name", "join-ha", "--node-ip", "192.0.2.20",
            "--container-runtime-endpoint", "unix://" + containerd.Supervisor.SocketPath);
        await Poll.UntilAsync(() => Task.FromResult(File.Exists(dir["agent/servers"]) ? File.ReadAllText(dir["agent/servers"]) : ""),
            s => s.Contains($":{leader.Port}/"), TimeSpan.FromSeconds(60), "the agent learns the leader from the kubernetes Endpoints",
            s => $"{s}\nagent: {agent.Out}{agent.Error}");
        using var http = leader.CreateClient();
        async Task<JsonObject> Get(string path) => await Json.ReadAsync((await http.GetAsync(path, Ct)).EnsureSuccessStatusCode());
        const string lease = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/join-ha";
        static JsonNode? ReadyOf(JsonObject n) => n["status"]?["conditions"]?.AsArray().SingleOrDefault(c => (string?)c!["type"] == "Ready");
        await Poll.UntilAsync(async () => (await http.GetAsync("/api/v1/nodes/join-ha", Ct)).IsSuccessStatusCode ? await Get("/api/v1/nodes/join-ha") : new JsonObject(),
            n => (string?)ReadyOf(n)?["status"] == "True", TimeSpan.FromSeconds(60), "the node Ready", n => $"{n.ToJsonString()}\nagent: {agent.Out}{agent.Error}");

        follower.Kill();
        var killedAt = DateTime.UtcNow;
        // Renewed through the leader at least twice after the kill (every 10 s), and past the 15 s grace the node is
        // still Ready (a silent node would be Unknown by then).
        string? seen = null;
        var renewals = 0;
        await Poll.UntilAsync(async () =>
        {
            var t = (string?)(await Get(lease))["spec"]!["renewTime"];
            if (t != seen && DateTime.Parse(t!).ToUniversalTime() > killedAt) renewals++;
            seen = t;
            return renewals;
        }, n => n >= 2, TimeSpan.FromSeconds(40), "two Lease renewals after the agent's server was killed", n => $"{n}; agent: {agent.Out}{agent.Error}");
        Assert.True(DateTime.UtcNow - killedAt > TimeSpan.FromSeconds(15));
        var ready = ReadyOf(await Get("/api/v1/nodes/join-ha"))!;
        Assert.Equal("True", (string?)ready["status"]);
        Assert.Equal("KubeletReady", (string?)ready["reason"]);
        Assert.Contains("now using", agent.Out + agent.Error);
        Assert.False(agent.HasExited);
    }
}
