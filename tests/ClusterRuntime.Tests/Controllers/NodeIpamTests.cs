// Node IPAM: distinct pod CIDRs per node, kept across a restart, freed with the node, an event when the range is full.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class NodeIpamTests
{
    static async Task CreateNodeAsync(Support.Kubectl k, string dir, string name)
    {
        var file = Path.Combine(dir, name + ".json");
        var node = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Node", ["metadata"] = new JsonObject { ["name"] = name } };
        await File.WriteAllTextAsync(file, node.ToJsonString(), TestContext.Current.CancellationToken);
        (await k.RunAsync("apply", "-f", file)).Ok();
    }

    /// <summary>name -> podCIDR of every node, once <paramref name="names"/> all have one (20 s at most).</summary>
    static async Task<Dictionary<string, string>> WaitForCidrsAsync(Support.Kubectl k, params string[] names)
    {
        return await Poll.UntilAsync(async () =>
        {
            var list = JsonNode.Parse((await k.RunAsync("get", "nodes", "-o", "json")).Ok().Out)!["items"]!.AsArray();
            foreach (var n in list)
                if (n!["spec"]?["podCIDR"] is { } cidr)
                    Assert.Equal($"[\"{cidr.GetValue<string>()}\"]", n["spec"]!["podCIDRs"]!.ToJsonString());
            return list.Where(n => n!["spec"]?["podCIDR"] is not null).ToDictionary(
                n => n!["metadata"]!["name"]!.GetValue<string>(), n => n!["spec"]!["podCIDR"]!.GetValue<string>());
        }, seen => names.All(seen.ContainsKey), TimeSpan.FromSeconds(20), $"pod CIDRs of {string.Join(", ", names)}",
            seen => string.Join(", ", seen.Select(s => $"{s.Key}={s.Value}")));
    }

    [Fact]
    public async Task Nodes_GetDistinctBlocks_KeptAcrossRestart_FreedOnDelete_AndAFullRangeIsReported()
    {
        Support.Kubectl.RequireInstalled();
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var cache = Path.Combine(dir.Path, "kube-cache");
        Directory.CreateDirectory(cache);
        var port = RuntimeProcess.FreePort();
        string[] flags = ["--cluster-cidr", "10.42.0.0/22", "--node-cidr-mask-size", "24"]; // 4 blocks

        Dictionary<string, string> first;
        await using (var server = await RuntimeProcess.StartAsync(data, port, flags))
        {
            var k = new Support.Kubectl(server.KubeconfigPath, cache);
            foreach (var name in new[] { "n1", "n2", "n3" }) await CreateNodeAsync(k, dir.Path, name);
            first = await WaitForCidrsAsync(k, "n1", "n2", "n3");
            Assert.Equal(3, first.Values.Distinct().Count());
            Assert.All(first.Values, c => Assert.Contains(c, new[] { "10.42.0.0/24", "10.42.1.0/24", "10.42.2.0/24", "10.42.3.0/24" }));
            // The flags agents need are published for them.
            Assert.Equal("10.42.0.0/22 10.43.0.0/16 10.43.0.10 cluster.local 30000-32767",
                (await k.RunAsync("get", "configmap", "-n", "kube-system", "appliance-cluster", "-o",
                    "jsonpath={.data.clusterCIDR} {.data.serviceCIDR} {.data.clusterDNS} {.data.clusterDomain} {.data.nodePortRange}")).Ok().Out);
            Assert.Equal(0, await server.StopAsync(TimeSpan.FromSeconds(10)));
        }

        await using (var server = await RuntimeProcess.StartAsync(data, port, flags))
        {
            var k = new Support.Kubectl(server.KubeconfigPath, cache);
            // After the restart the three blocks are still theirs, so the fourth node gets the one block left.
            await CreateNodeAsync(k, dir.Path, "n4");
            var after = await WaitForCidrsAsync(k, "n1", "n2", "n3", "n4");
            foreach (var (name, cidr) in first) Assert.Equal(cidr, after[name]);
            Assert.Equal("10.42.3.0/24", after["n4"]);

            // A deleted node's block goes to the next node.
            (await k.RunAsync("delete", "node", "n2")).Ok();
            await CreateNodeAsync(k, dir.Path, "n5");
            var reused = await WaitForCidrsAsync(k, "n5");
            Assert.Equal(first["n2"], reused["n5"]);

            // Nothing left: the sixth node gets no block and a CIDRNotAvailable event.
            await CreateNodeAsync(k, dir.Path, "n6");
            var events = await Poll.UntilAsync(
                async () => (await k.RunAsync("get", "events", "-n", "default", "--field-selector", "involvedObject.name=n6")).Ok().Out,
                e => e.Contains("CIDRNotAvailable"), TimeSpan.FromSeconds(20), "a CIDRNotAvailable event of n6");
            Assert.Contains("Node n6 status is now: CIDRNotAvailable", events);
            var n6 = JsonNode.Parse((await k.RunAsync("get", "node", "n6", "-o", "json")).Ok().Out)!;
            Assert.Null(n6["spec"]?["podCIDR"]);
        }
    }
}
