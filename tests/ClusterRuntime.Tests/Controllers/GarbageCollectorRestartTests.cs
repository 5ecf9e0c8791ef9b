// The garbage collector after a SIGKILL: a half-done foreground deletion and a background one finish after the restart.
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class GarbageCollectorRestartTests
{
    static System.Text.Json.Nodes.JsonObject Cm(string ns, string name, params System.Text.Json.Nodes.JsonObject[] owners) => GcCluster.ConfigMap(ns, name, owners);

    [Fact]
    public async Task ForegroundDeletionHalfDone_AtSigkill_CompletesAfterRestart()
    {
        Support.Kubectl.RequireInstalled();
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var cache = Path.Combine(dir.Path, "kube-cache");
        Directory.CreateDirectory(cache);
        var port = RuntimeProcess.FreePort();
        const string ns = "gc-restart";

        await using (var first = await RuntimeProcess.StartAsync(data, port))
        {
            using var c = new GcCluster(new Support.Kubectl(first.KubeconfigPath, cache), first.CreateClient());
            await c.NamespaceAsync(ns);
            var owners = await c.CreateAllAsync(Cm(ns, "parent"), Cm(ns, "background"));
            var (parent, background) = (owners[0], owners[1]);
            var held = Cm(ns, "held", GcCluster.Ref(parent));
            held["metadata"]!["finalizers"] = new System.Text.Json.Nodes.JsonArray("example.com/hold");
            var dependents = await c.CreateAllAsync([held, Cm(ns, "free", GcCluster.Ref(parent)),
                .. Enumerable.Range(0, 5).Select(i => Cm(ns, $"of-background-{i}", GcCluster.Ref(background)))]);
            await c.CreateAsync(Cm(ns, "under-held", GcCluster.Ref(dependents[0])));

            (await c.Kubectl.RunAsync("delete", "configmap", "parent", "-n", ns, "--cascade=foreground", "--wait=false")).Ok();
            await c.WaitGoneAsync(ns, "free");
            await GcCluster.WaitAsync(async () => (await c.ConfigMapAsync(ns, "held"))?["metadata"]?["deletionTimestamp"] is not null,
                "held to be marked for deletion", () => c.DescribeAsync(ns));
            // The owner of a background deletion goes at once; its dependents may or may not be collected before the kill.
            (await c.Kubectl.RunAsync("delete", "configmap", "background", "-n", ns, "--cascade=background", "--wait=false")).Ok();
            first.Kill();
        }

        await using var second = await RuntimeProcess.StartAsync(data, port);
        using var after = new GcCluster(new Support.Kubectl(second.KubeconfigPath, cache), second.CreateClient());
        await after.WaitGoneAsync(ns, "of-background-0", "of-background-1", "of-background-2", "of-background-3", "of-background-4");
        var parentNow = await after.ConfigMapAsync(ns, "parent");
        Assert.True(parentNow is not null, $"the owner went while held remained: {await after.DescribeAsync(ns)}");
        Assert.Contains("foregroundDeletion", parentNow["metadata"]!["finalizers"]!.ToJsonString());

        (await after.Kubectl.RunAsync("patch", "configmap", "held", "-n", ns, "--type=json", "-p", """[{"op":"remove","path":"/metadata/finalizers"}]""")).Ok();
        await after.WaitGoneAsync(ns, "held", "under-held", "parent");
    }
}
