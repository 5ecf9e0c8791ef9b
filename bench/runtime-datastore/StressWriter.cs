// `RuntimeDatastoreBench stress --data-dir DIR [--writers N]`: a write load that prints every acknowledged revision (the SIGKILL test's child).
using System.Globalization;
using System.Text;
using Appliance.ClusterRuntime.Datastore.Sqlite;

namespace Appliance.Bench.RuntimeDatastore;

/// <summary>
/// Writes to the SQLite datastore in <c>--data-dir</c> from several concurrent writers until killed, printing one line
/// per acknowledged write: <c>create &lt;rev&gt; &lt;key&gt;</c> for a new key and <c>lease &lt;rev&gt; &lt;key&gt;</c> for a
/// (volatile) lease renewal. A line is printed only after the write's commit returned, so every printed create must
/// survive a SIGKILL, and no printed revision may be handed out again after a restart.
/// Used by tests/ClusterRuntime.Tests/Datastore/SqliteCrashSafetyTests.cs.
/// </summary>
internal static class StressWriter
{
    /// <summary>Parses <c>--data-dir DIR [--writers N]</c>; returns null (after a message) when they are wrong.</summary>
    public static (string DataDir, int Writers)? Parse(string[] args)
    {
        string? dir = null;
        var writers = 8;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--data-dir" && i + 1 < args.Length) dir = args[++i];
            else if (args[i] == "--writers" && i + 1 < args.Length && int.TryParse(args[++i], CultureInfo.InvariantCulture, out var n) && n > 0) writers = n;
            else
            {
                Console.Error.WriteLine($"stress: unexpected argument '{args[i]}' (usage: stress --data-dir DIR [--writers N])");
                return null;
            }
        }
        if (dir is not null) return (dir, writers);
        Console.Error.WriteLine("stress: --data-dir is required");
        return null;
    }

    /// <summary>Runs the load until <paramref name="ct"/> is cancelled (or the process is killed).</summary>
    public static async Task RunAsync(string dataDir, int writers, TextWriter output, CancellationToken ct)
    {
        await using var store = new SqliteBackend(new SqliteBackendOptions { DataDir = dataDir, FlushInterval = TimeSpan.FromSeconds(1) });
        await store.StartAsync(ct);
        var gate = new object();
        void Print(string line)
        {
            lock (gate)
            {
                output.WriteLine(line);
                output.Flush();
            }
        }
        Print("ready " + (await store.CurrentRevisionAsync(ct)).ToString(CultureInfo.InvariantCulture));
        var run = Guid.NewGuid().ToString("N")[..8];
        try
        {
            await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
            {
                var lease = $"/registry/leases/stress/{run}-{w}";
                var leaseRev = await store.CreateAsync(lease, Encoding.UTF8.GetBytes("0"), ct: ct);
                Print($"create {leaseRev} {lease}");
                for (var i = 0L; !ct.IsCancellationRequested; i++)
                {
                    var key = $"/registry/configmaps/stress/{run}-{w}-{i:D8}";
                    var rev = await store.CreateAsync(key, Encoding.UTF8.GetBytes(new string('x', 200) + i), ct: ct);
                    Print($"create {rev} {key}");
                    var (r, _, ok) = await store.UpdateAsync(lease, Encoding.UTF8.GetBytes(i.ToString(CultureInfo.InvariantCulture)), leaseRev, ct: ct);
                    if (!ok) throw new InvalidOperationException($"lease {lease} renewal lost its revision");
                    leaseRev = r;
                    Print($"lease {r} {lease}");
                }
            }, ct)));
        }
        catch (OperationCanceledException)
        {
        }
    }
}
