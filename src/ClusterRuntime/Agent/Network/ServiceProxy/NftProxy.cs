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
    NftTable? _applied;
    IReadOnlyDictionary<UdpTarget, IReadOnlySet<string>> _udp = new Dictionary<UdpTarget, IReadOnlySet<string>>();
    bool _conntrackMissing;
    long _checkedAt;

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
            if (_applied is not null && _applied.Text == rules.Table.Text)
            {
                if (Stopwatch.GetElapsedTime(_checkedAt) < (checkInterval ?? TimeSpan.FromSeconds(30)) || await TablePresentAsync(ct))
                    return new ProxySyncResult(false, render, TimeSpan.Zero, 0, rules.Conflicts);
                logger.LogWarning("service proxy: table ip {Table} is gone or emptied (a ruleset flush?); writing it again", table);
                _applied = null;
            }

            clock.Restart();
            var previous = _applied;
            _applied = null;
            var r = await _command.RunAsync("nft", ["-f", "-"], rules.Table.UpdateScript(previous), ct);
            if (r.ExitCode != 0 && previous is not null)
            {
                // The table is not what the last apply left (changed by hand, flushed): replace it whole.
                logger.LogWarning("service proxy: the update of table ip {Table} was refused ({Error}); replacing the table", table, r.Error.Trim());
                r = await _command.RunAsync("nft", ["-f", "-"], rules.Table.UpdateScript(null), ct);
            }
            if (r.ExitCode != 0) throw new InvalidOperationException($"nft -f - refused table ip {table} (exit {r.ExitCode}): {r.Error.Trim()}");
            _applied = rules.Table;
            _checkedAt = Stopwatch.GetTimestamp();
            var apply = clock.Elapsed;
            var flushed = await FlushUdpAsync(rules.UdpTargets, ct);
            logger.LogInformation("service proxy: table ip {Table} applied ({Chains} chains) in {Apply:F1} ms, rendered in {Render:F1} ms, {Flushed} UDP endpoints flushed",
                table, rules.Table.Chains.Count, apply.TotalMilliseconds, render.TotalMilliseconds, flushed);
            return new ProxySyncResult(true, render, apply, flushed, rules.Conflicts);
        }
        finally { _gate.Release(); }
    }

    // The small chain every table has, with its rule: absent after a flush of the ruleset or of the table.
    async Task<bool> TablePresentAsync(CancellationToken ct)
    {
        _checkedAt = Stopwatch.GetTimestamp();
        var r = await _command.RunAsync("nft", ["list", "chain", "ip", table, "mark-for-masquerade"], null, ct);
        return r.ExitCode == 0 && r.Out.Contains(ProxyRules.MasqueradeMark, StringComparison.Ordinal);
    }

    /// <summary>Deletes the table (nothing happens when it is absent).</summary>
    public async Task CleanupAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var r = await _command.RunAsync("nft", ["-f", "-"], $"add table ip {table}\ndelete table ip {table}\n", ct);
            if (r.ExitCode != 0) throw new InvalidOperationException($"nft could not delete table ip {table}: {r.Error.Trim()}");
            _applied = null;
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
