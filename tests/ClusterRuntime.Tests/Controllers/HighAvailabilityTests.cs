// Two servers on one PostgreSQL datastore: one runs the controllers, the other takes over when it dies.
using System.Diagnostics;
using Appliance.ClusterRuntime.Tests.Datastore;
using Appliance.ClusterRuntime.Tests.Support;
using k8s;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class HighAvailabilityTests(PostgresServerFixture pg) : IClassFixture<PostgresServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    const string Leading = "became the leader";

    [Fact]
    public async Task TwoServers_OneRunsTheControllers_TheOtherTakesOverWithin30s_AndFinishesAScaleUp()
    {
        if (pg.SkipReason is not null) Assert.Skip(pg.SkipReason);
        Support.Kubectl.RequireInstalled();
        var endpoint = await pg.CreateDatabaseAsync();
        using var dir = new TempDir("ha-");
        var dataA = dir["a"];
        var dataB = dir["b"];
        var cache = dir["cache"];
        Directory.CreateDirectory(cache);
        await using var a = await RuntimeProcess.StartAsync(dataA, RuntimeProcess.FreePort(), "--datastore-endpoint", endpoint);
        // Servers of one cluster share its CAs and token (as K3s servers do through the datastore); here by copy.
        CopyPki(dataA, dataB);
        await using var b = await RuntimeProcess.StartAsync(dataB, RuntimeProcess.FreePort(), "--datastore-endpoint", endpoint);

        var (leader, follower) = await WaitForLeaderAsync(a, b);
        var kubectl = new Support.Kubectl(follower.KubeconfigPath, cache);
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(follower.KubeconfigPath));
        var nodes = new List<SimulatedNode>();
        for (int i = 1; i <= 3; i++) nodes.Add(await SimulatedNode.StartAsync(client, $"ha-node-{i}", i, ct: Ct));
        try
        {
            (await kubectl.RunAsync("create", "deployment", "web", "--image=registry.local/web:1", "--replicas=20")).Ok();
            await WaitAsync(async () => (await client.AppsV1.ReadNamespacedDeploymentAsync("web", "default", cancellationToken: Ct)).Status?.ReadyReplicas == 20,
                TimeSpan.FromSeconds(90), "20 ready replicas");
            await Task.Delay(TimeSpan.FromSeconds(3), Ct); // a second controller manager would have created more by now
            var pods = await client.CoreV1.ListNamespacedPodAsync("default", labelSelector: "app=web", cancellationToken: Ct);
            Assert.Equal(20, pods.Items.Count);
            var replicaSets = await client.AppsV1.ListNamespacedReplicaSetAsync("default", labelSelector: "app=web", cancellationToken: Ct);
            Assert.Single(replicaSets.Items);
            Assert.DoesNotContain(Leading, follower.Log);

            var killed = Stopwatch.StartNew();
            leader.Kill();
            await WaitAsync(() => Task.FromResult(follower.Log.Contains(Leading)), TimeSpan.FromSeconds(30), "the follower takes over within 30 s");
            var takeover = killed.Elapsed;
            (await kubectl.RunAsync("scale", "deployment", "web", "--replicas=30")).Ok();
            await WaitAsync(async () => (await client.AppsV1.ReadNamespacedDeploymentAsync("web", "default", cancellationToken: Ct)).Status?.ReadyReplicas == 30,
                TimeSpan.FromSeconds(90), "30 ready replicas after the takeover");
            pods = await client.CoreV1.ListNamespacedPodAsync("default", labelSelector: "app=web", cancellationToken: Ct);
            Assert.Equal(30, pods.Items.Count);
            Assert.All(pods.Items, p => Assert.False(string.IsNullOrEmpty(p.Spec.NodeName), $"{p.Metadata.Name} is not bound"));
            TestContext.Current.TestOutputHelper?.WriteLine($"takeover after SIGKILL of the leader: {takeover.TotalSeconds:F1} s");
        }
        finally
        {
            foreach (var n in nodes) await n.DisposeAsync();
        }
    }

    internal static void CopyPki(string from, string to)
    {
        Directory.CreateDirectory(Path.Combine(to, "tls"));
        foreach (var file in Directory.GetFiles(Path.Combine(from, "tls")))
            File.Copy(file, Path.Combine(to, "tls", Path.GetFileName(file)));
        foreach (var name in new[] { "token", "admin-token" })
            File.Copy(Path.Combine(from, name), Path.Combine(to, name));
    }

    static async Task<(RuntimeProcess Leader, RuntimeProcess Follower)> WaitForLeaderAsync(RuntimeProcess a, RuntimeProcess b)
    {
        await WaitAsync(() => Task.FromResult(a.Log.Contains(Leading) || b.Log.Contains(Leading)), TimeSpan.FromSeconds(30), "a leader is elected");
        Assert.False(a.Log.Contains(Leading) && b.Log.Contains(Leading), "both servers lead");
        return a.Log.Contains(Leading) ? (a, b) : (b, a);
    }

    static Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) =>
        Poll.UntilAsync(condition, ok => ok, timeout, what, interval: TimeSpan.FromMilliseconds(250));
}
