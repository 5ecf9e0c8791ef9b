// The KubernetesClient NuGet client (a second, independent client) lists and watches through the real server.
using Appliance.ClusterRuntime.Tests.Support;
using k8s;
using k8s.Models;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class KubernetesClientTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ListAndWatch_WithTheGeneratedKubeconfig()
    {
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(fx.Server.KubeconfigPath);
        using var client = new Kubernetes(config);

        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "csharp" } }, cancellationToken: Ct);
        using (var http = fx.Server.CreateClient()) await ServerFixture.NamespaceSettledAsync(http, "csharp", Ct);
        for (int i = 0; i < 3; i++)
            await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"c{i}", Labels = new Dictionary<string, string> { ["i"] = $"{i}" } }, Data = new Dictionary<string, string> { ["k"] = "v" } }, "csharp", cancellationToken: Ct);

        var list = await client.CoreV1.ListNamespacedConfigMapAsync("csharp", cancellationToken: Ct);
        Assert.Equal(["c0", "c1", "c2", "kube-root-ca.crt"], list.Items.Select(c => c.Metadata.Name));
        var selected = await client.CoreV1.ListNamespacedConfigMapAsync("csharp", labelSelector: "i in (1,2)", cancellationToken: Ct);
        Assert.Equal(["c1", "c2"], selected.Items.Select(c => c.Metadata.Name));
        var nodes = await client.CoreV1.ListNodeAsync(cancellationToken: Ct);
        Assert.NotNull(nodes.Metadata.ResourceVersion);

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(20));
        var seen = new List<(WatchEventType, string, string?)>();
        var watching = Task.Run(async () =>
        {
            await foreach (var (type, item) in client.CoreV1.WatchListNamespacedConfigMapAsync("csharp", resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
            {
                seen.Add((type, item.Metadata.Name, item.Data is { } d && d.TryGetValue("k", out var k) ? k : null));
                if (seen.Count == 3) break;
            }
        }, cts.Token);

        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "w" }, Data = new Dictionary<string, string> { ["k"] = "1" } }, "csharp", cancellationToken: Ct);
        var patch = new V1Patch("{\"data\":{\"k\":\"2\"}}", V1Patch.PatchType.MergePatch);
        await client.CoreV1.PatchNamespacedConfigMapAsync(patch, "w", "csharp", cancellationToken: Ct);
        await client.CoreV1.DeleteNamespacedConfigMapAsync("w", "csharp", cancellationToken: Ct);
        await watching;

        Assert.Equal([(WatchEventType.Added, "w", "1"), (WatchEventType.Modified, "w", "2"), (WatchEventType.Deleted, "w", "2")], seen);
    }
}
