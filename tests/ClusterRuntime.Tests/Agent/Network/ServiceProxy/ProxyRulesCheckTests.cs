// nft 1.0.6 itself checks the rendered table and an update script, in a namespace of the test's own.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Network.ServiceProxy;
using static Appliance.ClusterRuntime.Tests.Agent.Network.ServiceProxy.ProxyObjects;

namespace Appliance.ClusterRuntime.Tests.Agent.Network.ServiceProxy;

[Trait("Category", "External")]
public sealed class ProxyRulesCheckTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Services of every kind, 100 of them with 10 endpoints each (as the benchmark uses).</summary>
    internal static (JsonObject[] Services, JsonObject[] Slices) Cluster(int services, int endpoints, int shift = 0)
    {
        var svcs = new List<JsonObject>();
        var slices = new List<JsonObject>();
        for (var i = 0; i < services; i++)
        {
            var (type, nodePort) = (i % 4) switch { 0 => ("NodePort", 30000 + i), 1 => ("LoadBalancer", 30000 + i), _ => ("ClusterIP", 0) };
            var proto = i % 5 == 0 ? "UDP" : "TCP";
            svcs.Add(Service($"s{i}", $"10.43.{i / 250}.{i % 250 + 1}", port: 1000 + i, protocol: proto, type: type, nodePort: nodePort, ns: $"ns{i % 7}",
                affinity: i % 6 == 0, externalPolicy: i % 8 == 1 ? "Local" : null, internalPolicy: i % 9 == 2 ? "Local" : null));
            var eps = Enumerable.Range(0, endpoints).Select(j => new Ep($"10.42.{i % 200}.{(j + shift) % 250 + 2}", Node: j % 2 == 0 ? "node-a" : "node-b", Ready: j % 7 != 3)).ToArray();
            slices.Add(Slice($"s{i}", $"ns{i % 7}", 8080, proto, eps));
        }
        return ([.. svcs], [.. slices]);
    }

    [Fact]
    public async Task TheRenderedTable_AndAnUpdateScriptOverIt_PassNftsCheck_AndTheUpdateLeavesWhatAFreshTableHolds()
    {
        ProxyLab.RequireTools();
        var ns = "pxc-" + Guid.NewGuid().ToString("n")[..6];
        var fresh = "pxf-" + Guid.NewGuid().ToString("n")[..6];
        (await ProcessRunner.RunAsync("ip", ["netns", "add", ns], ct: Ct)).Ok();
        (await ProcessRunner.RunAsync("ip", ["netns", "add", fresh], ct: Ct)).Ok();
        try
        {
            var (services, slices) = Cluster(100, 10);
            var first = ProxyRules.Render("appliance", services, slices, NodeA).Table;
            var check = await Nft(ns, "-c", first.Text);
            Assert.True(check.ExitCode == 0, check.Error);
            (await Nft(ns, "", first.UpdateScript(null))).Ok();
            var (services2, slices2) = Cluster(90, 10, shift: 3);
            var second = ProxyRules.Render("appliance", services2, slices2, NodeA).Table;
            check = await Nft(ns, "-c", second.UpdateScript(first));
            Assert.True(check.ExitCode == 0, check.Error);

            // Applied for real, the difference leaves the kernel holding exactly what the whole text gives.
            (await Nft(ns, "", second.UpdateScript(first))).Ok();
            (await Nft(fresh, "", second.UpdateScript(null))).Ok();
            Assert.Equal(await List(fresh), await List(ns));
        }
        finally
        {
            await ProcessRunner.RunAsync("ip", ["netns", "delete", ns], ct: CancellationToken.None);
            await ProcessRunner.RunAsync("ip", ["netns", "delete", fresh], ct: CancellationToken.None);
        }
    }

    // The table as nft lists it, in an order of its own: objects appear in creation order and elements in hash order,
    // so each line becomes "object#position: line" (rules keep their position; elements are taken one by one), sorted.
    static async Task<string> List(string ns)
    {
        var listing = (await ProcessRunner.RunAsync("ip", ["netns", "exec", ns, "nft", "list", "table", "ip", "appliance"], ct: Ct)).Ok().Out;
        var entries = new List<string>();
        string obj = "";
        var position = 0;
        var inElements = false;
        foreach (var raw in listing.Split('\n'))
        {
            var line = raw.Trim();
            if (raw.StartsWith("\t", StringComparison.Ordinal) && !raw.StartsWith("\t\t", StringComparison.Ordinal) && line.EndsWith('{')) { obj = line; position = 0; continue; }
            if (line.StartsWith("elements = {", StringComparison.Ordinal)) { inElements = true; line = line["elements = {".Length..]; }
            if (inElements)
            {
                if (line.EndsWith('}')) { inElements = false; line = line[..^1]; }
                entries.AddRange(line.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(e => $"{obj}: element {e}"));
                continue;
            }
            if (line is not ("" or "}")) entries.Add($"{obj}#{position++}: {line}");
        }
        return string.Join('\n', entries.Order(StringComparer.Ordinal));
    }

    static Task<ProcessResult> Nft(string ns, string mode, string text) =>
        ProcessRunner.RunAsync("ip", ["netns", "exec", ns, "nft", .. mode.Length > 0 ? new[] { mode } : [], "-f", "-"],
            new ProcessOptions { Stdin = System.Text.Encoding.UTF8.GetBytes(text) }, Ct);
}
