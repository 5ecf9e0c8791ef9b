// PostgreSQL backend writes/s with 50 writers, against pgbench running the same durable INSERT with 50 clients.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Appliance.ClusterRuntime.Datastore.Postgres;
using Npgsql;

namespace Appliance.Bench.RuntimeDatastore;

internal static class PostgresBench
{
    public static async Task RunAsync(string root, int writers, int seconds)
    {
        if (PgServer.SkipReason() is { } why)
        {
            Console.WriteLine($"postgres: skipped ({why})");
            return;
        }
        await using var server = await PgServer.StartAsync(root, Path.Combine(root, "pg"));
        {
            var cs = server.ConnectionString();
            var sock = server.Socket;
            var value = Encoding.UTF8.GetBytes("{\"kind\":\"ConfigMap\",\"data\":{\"k\":\"" + new string('v', 400) + "\"}}");
            double ours;
            await using (var store = new PostgresBackend(new PostgresBackendOptions { ConnectionString = cs }))
            {
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
                ours = count / stop.Elapsed.TotalSeconds;
                Console.WriteLine($"postgres: {writers} concurrent writers: {ours:F0} writes/s");
            }
            var pgbench = Path.Combine(server.Bin, "pgbench");
            await using (var c = new NpgsqlConnection(cs))
            {
                await c.OpenAsync();
                await using var cmd = new NpgsqlCommand("CREATE TABLE bench(id BIGSERIAL PRIMARY KEY, key TEXT, value BYTEA);", c);
                await cmd.ExecuteNonQueryAsync();
            }
            var script = Path.Combine(root, "insert.sql");
            await File.WriteAllTextAsync(script, $"INSERT INTO bench(key, value) VALUES ('/registry/configmaps/x/' || random(), '\\x{Convert.ToHexString(value)}');\n");
            var r = await Util.RunAsync(pgbench, ["-h", sock, "-p", "5432", "-U", "postgres", "-n", "-c", writers.ToString(CultureInfo.InvariantCulture), "-j", "2",
                "-T", seconds.ToString(CultureInfo.InvariantCulture), "-f", script, "postgres"]);
            var tpsLine = r.Out.Split('\n').FirstOrDefault(l => l.StartsWith("tps = ", StringComparison.Ordinal));
            if (r.Code != 0 || tpsLine is null)
            {
                Console.WriteLine("postgres: pgbench failed: " + r.Err.Trim());
                return;
            }
            var tps = double.Parse(tpsLine["tps = ".Length..].Split(' ')[0], CultureInfo.InvariantCulture);
            Console.WriteLine($"postgres: pgbench, {writers} clients, one INSERT per transaction: {tps:F0} writes/s");
            Console.WriteLine($"postgres: ratio ours/pgbench = {ours / tps:F2}x");
        }
    }
}
