// Writes per second with many concurrent writers, against the sqlite3 CLI doing one durable insert per transaction.
using System.Diagnostics;
using System.Text;
using Appliance.ClusterRuntime.Datastore.Sqlite;

namespace Appliance.Bench.RuntimeDatastore;

internal static class WriteBench
{
    public static async Task RunAsync(string root, int writers, int seconds)
    {
        var value = Encoding.UTF8.GetBytes("{\"kind\":\"ConfigMap\",\"data\":{\"k\":\"" + new string('v', 400) + "\"}}");
        var ours = new Dictionary<string, double>();
        foreach (var full in new[] { true, false })
        {
            var dir = Path.Combine(root, full ? "writes-full" : "writes-normal");
            await using var store = new SqliteBackend(new SqliteBackendOptions { DataDir = dir, SynchronousFull = full });
            await store.StartAsync();
            var stop = Stopwatch.StartNew();
            long count = 0;
            await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
            {
                for (var i = 0; stop.Elapsed.TotalSeconds < seconds; i++)
                {
                    await store.CreateAsync($"/registry/configmaps/w{w}/k{i:D7}", value);
                    Interlocked.Increment(ref count);
                }
            })));
            var rate = count / stop.Elapsed.TotalSeconds;
            ours[full ? "FULL" : "NORMAL"] = rate;
            Console.WriteLine($"writes: {writers} concurrent writers, synchronous={(full ? "FULL" : "NORMAL")}: {rate:F0} writes/s ({store.CommitCount} commits for {count} writes)");
        }

        var sqlite3 = Util.Which("sqlite3");
        if (sqlite3.Length == 0)
        {
            Console.WriteLine("writes: sqlite3 CLI not found; no baseline");
            return;
        }
        // The standard tool doing the same durable work: each INSERT its own transaction, WAL, synchronous=FULL.
        const int n = 2000;
        var sql = new StringBuilder("PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\nCREATE TABLE t(key TEXT PRIMARY KEY, value BLOB);\n");
        var hex = Convert.ToHexString(value);
        for (var i = 0; i < n; i++) sql.Append(System.Globalization.CultureInfo.InvariantCulture, $"INSERT INTO t VALUES('/registry/configmaps/x/k{i:D7}', X'{hex}');\n");
        var db = Path.Combine(root, "sqlite3-cli.db");
        var sw = Stopwatch.StartNew();
        var r = await Util.RunAsync(sqlite3, [db], sql.ToString());
        var cli = n / sw.Elapsed.TotalSeconds;
        if (r.Code != 0) Console.WriteLine("writes: sqlite3 failed: " + r.Err);
        Console.WriteLine($"writes: sqlite3 CLI, one durable INSERT per transaction (WAL, FULL): {cli:F0} writes/s");
        Console.WriteLine($"writes: ratio ours(FULL)/sqlite3 = {ours["FULL"] / cli:F1}x, ours(NORMAL)/sqlite3 = {ours["NORMAL"] / cli:F1}x");
    }
}
