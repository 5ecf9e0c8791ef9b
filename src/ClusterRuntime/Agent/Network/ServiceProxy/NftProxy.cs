// The agent's Service proxy: renders the table, applies it atomically when it changed, flushes stale UDP flows.
using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Network.ServiceProxy;

/// <summary>What one sync did: whether the table changed, and how long rendering and applying took.</summary>
public sealed record ProxySyncResult(bool Changed, TimeSpan Render, TimeSpan Apply, int FlushedUdpEndpoints, IReadOnlyList<string> Conflicts);

/// <summary>
/// kube-proxy's job in nftables: call <see cref="SyncAsync"/> with the current Services and EndpointSlices after any
/// change (calls are serialized); <see cref="CleanupAsync"/> deletes the table (<c>agent --cleanup</c>). The table is
/// ours alone (<c>table ip appliance</c>): nothing else in the ruleset is read or touched. A sync with nothing new
/// checks, at most every <paramref name="checkInterval"/> (30 s by default), that the table is still there (a
/// firewall service's <c>flush ruleset</c> removes it) and writes it again if not.
/// </summary>
public sealed class NftProxy(ILogger logger, string table = NftProxy.DefaultTable, HostCommand? command = null, TimeSpan? checkInterval = null)
{
    /// <summary>The table's name in family <c>ip</c>.</summary>
    public const string DefaultTable = "appliance";

    readonly HostCommand _command = command ?? new HostCommand();
    readonly SemaphoreSlim _gate = new(1, 1);
    NftTableWriter? _writer;
    IReadOnlyDictionary<UdpTarget, IReadOnlySet<string>> _udp = new Dictionary<UdpTarget, IReadOnlySet<string>>();
    bool _conntrackMissing;

    NftTableWriter Writer => _writer ??= new NftTableWriter(_command, w => logger.LogWarning("service proxy: {Warning}", w), "mark-for-masquerade", ProxyRules.MasqueradeMark, checkInterval);

    /// <summary>The table's name.</summary>
    public string Table => table;

    /// <summary>
    /// Renders the table and, if its text differs from the last one applied, applies it in one <c>nft -f -</c>
    /// transaction, then deletes the conntrack entries of UDP flows whose endpoint went away. A failed apply throws
    /// <see cref="InvalidOperationException"/> with nft's message; the next sync rewrites the table whole.
    /// </summary>
    public async Task<ProxySyncResult> SyncAsync(IReadOnlyList<JsonObject> services, IReadOnlyList<JsonObject> slices, ProxyNode node, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var clock = Stopwatch.StartNew();
            var rules = ProxyRules.Render(table, services, slices, node);
            _ = rules.Table.Text; // written once, here: the render time includes it
            var render = clock.Elapsed;
            foreach (var c in rules.Conflicts) logger.LogWarning("service proxy: {Conflict}", c);
            clock.Restart();
            if (!await Writer.WriteAsync(rules.Table, ct)) return new ProxySyncResult(false, render, TimeSpan.Zero, 0, rules.Conflicts);
            var apply = clock.Elapsed;
            var flushed = await FlushUdpAsync(rules.UdpTargets, ct);
            logger.LogInformation("service proxy: table ip {Table} applied ({Chains} chains) in {Apply:F1} ms, rendered in {Render:F1} ms, {Flushed} UDP endpoints flushed",
                table, rules.Table.Chains.Count, apply.TotalMilliseconds, render.TotalMilliseconds, flushed);
            return new ProxySyncResult(true, render, apply, flushed, rules.Conflicts);
        }
        finally { _gate.Release(); }
    }

    /// <summary>Deletes the table (nothing happens when it is absent).</summary>
    public async Task CleanupAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            await Writer.DeleteAsync(table, ct);
            _udp = new Dictionary<UdpTarget, IReadOnlySet<string>>();
        }
        finally { _gate.Release(); }
    }

    // A UDP flow keeps its DNAT for as long as packets flow (a DNS client reusing its port never stops), so when an
    // endpoint goes away its flows are deleted and the next packet is a new flow that chooses again. A destination
    // that had no endpoints loses its flows too: they were never translated.
    async Task<int> FlushUdpAsync(IReadOnlyDictionary<UdpTarget, IReadOnlySet<string>> now, CancellationToken ct)
    {
        var flushed = 0;
        foreach (var (target, before) in _udp)
        {
            var after = now.GetValueOrDefault(target) ?? new HashSet<string>();
            foreach (var gone in before.Where(ip => !after.Contains(ip)).Order(StringComparer.Ordinal))
                if (await ConntrackDeleteAsync([.. target.ConntrackFilter(), "--reply-src", gone], ct)) flushed++;
        }
        foreach (var (target, after) in now)
            if (after.Count > 0 && _udp.TryGetValue(target, out var before) && before.Count == 0)
                await ConntrackDeleteAsync([.. target.ConntrackFilter()], ct);
        _udp = now;
        return flushed;
    }

    async Task<bool> ConntrackDeleteAsync(string[] filter, CancellationToken ct)
    {
        if (_conntrackMissing) return false;
        HostCommandResult r;
        try { r = await _command.RunAsync("conntrack", ["-D", .. filter], null, ct); }
        catch (HostCommandException e) when (e.ToolMissing)
        {
            _conntrackMissing = true;
            logger.LogWarning("service proxy: conntrack is not installed, so UDP flows to removed endpoints are not flushed ({Error})", e.Message);
            return false;
        }
        // conntrack exits 1 with "0 flow entries have been deleted" when nothing matched: not an error.
        if (r.ExitCode != 0 && !r.Error.Contains("0 flow entries"))
            logger.LogWarning("service proxy: conntrack -D {Filter} failed: {Error}", string.Join(' ', filter), r.Error.Trim());
        return r.ExitCode == 0;
    }
}
