// The agent's NetworkPolicy enforcement: watches policies, pods and namespaces and keeps the policy table for this node's pods.
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Agent.Network.ServiceProxy;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Network.Policy;

/// <summary>
/// Keeps <c>table ip appliance-policy</c> (ours alone, apart from the Service proxy's <c>table ip appliance</c>) in step
/// with the cluster: <see cref="SyncAsync"/> renders it whole (<see cref="PolicyRules"/>) and applies it in one
/// <c>nft -f -</c> transaction when it changed; <see cref="RunAsync"/> does so on every change of NetworkPolicies,
/// Pods or Namespaces and every 30 s (a flushed table comes back); <see cref="CleanupAsync"/> deletes the table.
/// </summary>
public sealed class NftPolicy(ILogger logger, string table = NftPolicy.DefaultTable, HostCommand? command = null, TimeSpan? checkInterval = null)
{
    /// <summary>The table's name in family <c>ip</c>.</summary>
    public const string DefaultTable = "appliance-policy";

    static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(50);
    static readonly TimeSpan Recheck = TimeSpan.FromSeconds(30);

    readonly SemaphoreSlim _gate = new(1, 1);
    readonly NftTableWriter _writer = new(command ?? new HostCommand(), w => logger.LogWarning("network policy: {Warning}", w), "refuse", PolicyRules.RefuseProbe, checkInterval);

    /// <summary>
    /// Renders the table for node <paramref name="nodeName"/> and applies it if it changed; true when nft ran. Throws
    /// <see cref="InvalidOperationException"/> with nft's message. <paramref name="serviceAddresses"/>: see <see cref="PolicyRules.Render"/>.
    /// </summary>
    public async Task<bool> SyncAsync(IReadOnlyList<JsonObject> policies, IReadOnlyList<JsonObject> pods, IReadOnlyList<JsonObject> namespaces, string nodeName,
        CancellationToken ct, IReadOnlyList<IPAddress>? serviceAddresses = null)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var clock = Stopwatch.StartNew();
            var rendered = PolicyRules.Render(table, policies, pods, namespaces, nodeName, serviceAddresses);
            if (!await _writer.WriteAsync(rendered, ct)) return false;
            logger.LogInformation("network policy: table ip {Table} applied ({Chains} chains, {Policies} policies) in {Ms:F1} ms",
                table, rendered.Chains.Count, policies.Count, clock.Elapsed.TotalMilliseconds);
            return true;
        }
        finally { _gate.Release(); }
    }

    /// <summary>Watches NetworkPolicies, Pods and Namespaces through <paramref name="api"/> and syncs until <paramref name="ct"/> ends; failures are logged and retried.</summary>
    internal async Task RunAsync(ApiClient api, string nodeName, IReadOnlyList<IPAddress> serviceAddresses, CancellationToken ct)
    {
        var policies = new WatchedCollection(api, "/apis/networking.k8s.io/v1/networkpolicies", logger);
        var pods = new WatchedCollection(api, "/api/v1/pods", logger);
        var namespaces = new WatchedCollection(api, "/api/v1/namespaces", logger);
        var changed = new ChangeSignal();
        foreach (var c in new[] { policies, pods, namespaces }) c.Changed += changed.Set;
        var watches = Task.WhenAll(policies.RunAsync(ct), pods.RunAsync(ct), namespaces.RunAsync(ct));
        try
        {
            await Task.WhenAll(policies.Listed, pods.Listed, namespaces.Listed).WaitAsync(ct);
            while (true)
            {
                try { await SyncAsync(policies.Items(), pods.Items(), namespaces.Items(), nodeName, ct, serviceAddresses); }
                catch (Exception e) when (e is HostCommandException or InvalidOperationException) { logger.LogWarning("network policy: {Error}", e.Message); }
                await changed.WaitAsync(Settle, Recheck, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        finally
        {
            try { await watches; }
            catch (OperationCanceledException) { }
        }
    }

    /// <summary>Deletes the table (nothing happens when it is absent).</summary>
    public async Task CleanupAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try { await _writer.DeleteAsync(table, ct); }
        finally { _gate.Release(); }
    }
}
