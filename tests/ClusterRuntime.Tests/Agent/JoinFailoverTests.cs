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
    public async Task AgentOnTheFollower_FailsOverToTheLeader_WhenItsServerIsKilled_AndTheNodeNeverTurnsUnknown()
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

        // The agent is given the follower only, so the controllers judging its node keep running on the leader.
        await using var agent = JoinAgent.Start(JoinAgent.Url(follower), JoinAgent.Token(follower), dir["agent"], "--node-name", "join-ha", "--node-ip", "192.0.2.20");
        await Poll.UntilAsync(() => Task.FromResult(File.Exists(dir["agent/servers"]) ? File.ReadAllText(dir["agent/servers"]) : ""),
            s => s.Contains($":{leader.Port}/"), TimeSpan.FromSeconds(60), "the agent learns the leader from the kubernetes Endpoints",
            s => $"{s}\nagent: {agent.Out}{agent.Error}");
        using var http = leader.CreateClient();
        async Task<JsonObject> Get(string path) => await Json.ReadAsync((await http.GetAsync(path, Ct)).EnsureSuccessStatusCode());
        const string lease = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/join-ha";
        var node = await Poll.UntilAsync(async () => (await http.GetAsync("/api/v1/nodes/join-ha", Ct)).IsSuccessStatusCode ? await Get("/api/v1/nodes/join-ha") : new JsonObject(),
            n => n["status"]?["conditions"] is not null, TimeSpan.FromSeconds(30), "the node's status");
        string ReadyOf(JsonObject n) => n["status"]!["conditions"]!.AsArray().Single(c => (string?)c!["type"] == "Ready")!.ToJsonString();
        var postedReady = (string?)JsonNode.Parse(ReadyOf(node))!["status"];

        follower.Kill();
        var killedAt = DateTime.UtcNow;
        // Renewed through the leader at least twice after the kill (every 10 s), and past the 15 s grace the node is
        // still as the agent posts it, never Unknown.
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
        var ready = JsonNode.Parse(ReadyOf(await Get("/api/v1/nodes/join-ha")))!;
        Assert.Equal(postedReady, (string?)ready["status"]);
        Assert.NotEqual("NodeStatusUnknown", (string?)ready["reason"]);
        Assert.Contains("now using", agent.Out + agent.Error);
        Assert.False(agent.HasExited);
    }
}
