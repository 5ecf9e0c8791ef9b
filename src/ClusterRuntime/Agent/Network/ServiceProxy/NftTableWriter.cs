// Keeps one nftables table of ours in the kernel: applies a rendered table atomically, only when it changed, and rewrites it when it was flushed.
using System.Diagnostics;

namespace Appliance.ClusterRuntime.Agent.Network.ServiceProxy;

/// <summary>
/// The applier every table of the agent shares (the Service proxy's, the NetworkPolicy one). <see cref="WriteAsync"/>
/// does nothing when the text equals the last one applied, except at most every <paramref name="checkInterval"/> check
/// that the table's probe chain still holds <paramref name="probeText"/> (a firewall service's <c>flush ruleset</c>
/// removes it) and write it again if not. Otherwise one <c>nft -f -</c> transaction (<see cref="NftTable.UpdateScript"/>),
/// and after a refused difference a whole replacement. Callers serialize their calls.
/// </summary>
internal sealed class NftTableWriter(HostCommand command, Action<string> warn, string probeChain, string probeText, TimeSpan? checkInterval = null)
{
    NftTable? _applied;
    long _checkedAt;

    /// <summary>Applies <paramref name="table"/> unless it is already there; true when nft ran. Throws <see cref="InvalidOperationException"/> with nft's message.</summary>
    public async Task<bool> WriteAsync(NftTable table, CancellationToken ct)
    {
        if (_applied is not null && _applied.Text == table.Text)
        {
            if (Stopwatch.GetElapsedTime(_checkedAt) < (checkInterval ?? TimeSpan.FromSeconds(30)) || await PresentAsync(table.Name, ct)) return false;
            warn($"table ip {table.Name} is gone or emptied (a ruleset flush?); writing it again");
            _applied = null;
        }
        var previous = _applied;
        _applied = null;
        var r = await command.RunAsync("nft", ["-f", "-"], table.UpdateScript(previous), ct);
        if (r.ExitCode != 0 && previous is not null)
        {
            // The table is not what the last apply left (changed by hand, flushed): replace it whole.
            warn($"the update of table ip {table.Name} was refused ({r.Error.Trim()}); replacing the table");
            r = await command.RunAsync("nft", ["-f", "-"], table.UpdateScript(null), ct);
        }
        if (r.ExitCode != 0) throw new InvalidOperationException($"nft -f - refused table ip {table.Name} (exit {r.ExitCode}): {r.Error.Trim()}");
        _applied = table;
        _checkedAt = Stopwatch.GetTimestamp();
        return true;
    }

    // The small chain every table has, with its rule: absent after a flush of the ruleset or of the table.
    async Task<bool> PresentAsync(string table, CancellationToken ct)
    {
        _checkedAt = Stopwatch.GetTimestamp();
        var r = await command.RunAsync("nft", ["list", "chain", "ip", table, probeChain], null, ct);
        return r.ExitCode == 0 && r.Out.Contains(probeText, StringComparison.Ordinal);
    }

    /// <summary>Deletes table <c>ip <paramref name="table"/></c> (nothing happens when it is absent).</summary>
    public async Task DeleteAsync(string table, CancellationToken ct)
    {
        var r = await command.RunAsync("nft", ["-f", "-"], $"add table ip {table}\ndelete table ip {table}\n", ct);
        if (r.ExitCode != 0) throw new InvalidOperationException($"nft could not delete table ip {table}: {r.Error.Trim()}");
        _applied = null;
    }
}
