// List latency over 5,000 stored objects, against a bare SELECT of the same rows from a plain table.
using System.Diagnostics;
using System.Text;
using Appliance.ClusterRuntime.Datastore.Sqlite;
using Microsoft.Data.Sqlite;

namespace Appliance.Bench.RuntimeDatastore;

internal static class ListBench
{
    public static async Task RunAsync(string root, int keys, int iterations)
    {
        var dir = Path.Combine(root, "list");
        var value = Encoding.UTF8.GetBytes("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"data\":{\"k\":\"" + new string('v', 900) + "\"}}");
        await using var store = new SqliteBackend(new SqliteBackendOptions { DataDir = dir });
        await store.StartAsync();
        await Task.WhenAll(Enumerable.Range(0, 10).Select(w => Task.Run(async () =>
        {
            for (var i = w; i < keys; i += 10) await store.CreateAsync($"/registry/configmaps/default/cm-{i:D5}", value);
        })));
        // Some history, so the list is not over a log with one row per key.
        for (var i = 0; i < keys; i += 5)
        {
            var (_, kv) = await store.GetAsync($"/registry/configmaps/default/cm-{i:D5}");
            await store.UpdateAsync(kv!.Key, value, kv.ModRevision);
        }

        var full = await Measure(iterations, async () => (await store.ListAsync("/registry/configmaps/")).Items.Count);
        var paged = await Measure(iterations, async () => (await store.ListAsync("/registry/configmaps/", limit: 500)).Items.Count);
        var rev = await store.CurrentRevisionAsync();
        var historical = await Measure(Math.Max(20, iterations / 5), async () => (await store.ListAsync("/registry/configmaps/", revision: rev - 100)).Items.Count);

        // Baseline: the same 5,000 rows in a plain key/value table, read with one SELECT.
        var plain = Path.Combine(root, "plain.db");
        await using (var c = new SqliteConnection($"Data Source={plain}"))
        {
            c.Open();
            using var tx = c.BeginTransaction();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE t(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;";
            cmd.ExecuteNonQuery();
            cmd.CommandText = "INSERT INTO t VALUES($k, $v);";
            var pk = cmd.Parameters.Add("$k", SqliteType.Text);
            cmd.Parameters.AddWithValue("$v", value);
            for (var i = 0; i < keys; i++)
            {
                pk.Value = $"/registry/configmaps/default/cm-{i:D5}";
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        }
        var bare = await Measure(iterations, () =>
        {
            using var c = new SqliteConnection($"Data Source={plain}");
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT key, value FROM t WHERE key >= '/registry/configmaps/' AND key < '/registry/configmaps0' ORDER BY key;";
            using var r = cmd.ExecuteReader();
            var n = 0;
            while (r.Read())
            {
                _ = r.GetString(0);
                _ = (byte[])r.GetValue(1);
                n++;
            }
            return Task.FromResult(n);
        });
        Console.WriteLine($"list: {keys} objects (~1 KB), {iterations} lists");
        Console.WriteLine($"list: full list     p50 {full.P50:F2} ms  p99 {full.P99:F2} ms");
        Console.WriteLine($"list: limit=500     p50 {paged.P50:F2} ms  p99 {paged.P99:F2} ms");
        Console.WriteLine($"list: at revision-100 (history) p50 {historical.P50:F2} ms  p99 {historical.P99:F2} ms");
        Console.WriteLine($"list: bare SELECT of the same rows  p50 {bare.P50:F2} ms  p99 {bare.P99:F2} ms");
        Console.WriteLine($"list: ratio ours/bare SELECT p50 = {full.P50 / bare.P50:F2}x, p99 = {full.P99 / bare.P99:F2}x");
    }

    private static async Task<(double P50, double P99)> Measure(int iterations, Func<Task<int>> list)
    {
        for (var i = 0; i < 5; i++) await list();
        var ms = new List<double>(iterations);
        for (var i = 0; i < iterations; i++)
        {
            var sw = Stopwatch.StartNew();
            await list();
            ms.Add(sw.Elapsed.TotalMilliseconds);
        }
        ms.Sort();
        return (Util.Percentile(ms, 0.50), Util.Percentile(ms, 0.99));
    }
}
