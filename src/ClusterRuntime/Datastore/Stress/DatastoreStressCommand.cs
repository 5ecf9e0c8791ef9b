// Hidden `appliance-runtime datastore-stress`: a write load that prints every acknowledged revision (for the crash test).
using System.CommandLine;
using System.Globalization;
using System.Text;
using Appliance.ClusterRuntime.Datastore.Sqlite;

namespace Appliance.ClusterRuntime.Datastore.Stress;

/// <summary>
/// Writes to the SQLite datastore in <c>--data-dir</c> from several concurrent writers until killed, printing one line
/// per acknowledged write: <c>create &lt;rev&gt; &lt;key&gt;</c> for a new key and <c>lease &lt;rev&gt; &lt;key&gt;</c> for a
/// (volatile) lease renewal. A line is printed only after the write's commit returned, so every printed create must
/// survive a SIGKILL, and no printed revision may be handed out again after a restart.
/// </summary>
public static class DatastoreStressCommand
{
    private static readonly Option<string> DataDirOption = new("--data-dir") { Description = "Datastore directory", Required = true };
    private static readonly Option<int> WritersOption = new("--writers") { Description = "Concurrent writers", DefaultValueFactory = _ => 8 };

    /// <summary>Builds the hidden command.</summary>
    public static Command Create()
    {
        var command = new Command("datastore-stress", "Write load for datastore crash tests (prints acknowledged revisions)") { Hidden = true };
        command.Options.Add(DataDirOption);
        command.Options.Add(WritersOption);
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(DataDirOption)!, parse.GetValue(WritersOption), Console.Out, ct));
        return command;
    }

    /// <summary>Runs the load until <paramref name="ct"/> is cancelled (or the process is killed).</summary>
    public static async Task<int> RunAsync(string dataDir, int writers, TextWriter output, CancellationToken ct)
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
        return 0;
    }
}
