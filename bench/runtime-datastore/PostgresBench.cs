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
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(b => File.Exists(Path.Combine(b, "initdb"))).Order(StringComparer.Ordinal).LastOrDefault()
            : null;
        if (OperatingSystem.IsWindows()) return;
        if (bin is null || Environment.UserName != "root")
        {
            Console.WriteLine("postgres: skipped (needs /usr/lib/postgresql/*/bin and root to run the server as 'postgres')");
            return;
        }
        var dir = Path.Combine(root, "pg");
        // The server runs as 'postgres' and must be able to reach its directory inside our temp dir.
        File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var sock = Path.Combine(dir, "sock");
        Directory.CreateDirectory(sock);
        await Must(Util.RunAsync("chown", ["-R", "postgres:postgres", dir]));
        await Must(Util.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(bin, "initdb"), "-D", Path.Combine(dir, "data"), "-A", "trust", "-U", "postgres", "--no-instructions"]));
        // Default durability (fsync=on, synchronous_commit=on): an acknowledged write is on disk, as with SQLite FULL.
        await Must(Util.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(bin, "pg_ctl"), "-D", Path.Combine(dir, "data"), "-l", Path.Combine(dir, "log"), "-w",
            "-o", $"-k {sock} -p 5432 -c listen_addresses='' -c max_connections=200", "start"]));
        try
        {
            var cs = new NpgsqlConnectionStringBuilder { Host = sock, Port = 5432, Username = "postgres", Database = "postgres" }.ConnectionString;
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
            var pgbench = Path.Combine(bin, "pgbench");
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
        finally
        {
            await Util.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(bin, "pg_ctl"), "-D", Path.Combine(dir, "data"), "-m", "fast", "-w", "stop"]);
        }
    }

    private static async Task Must(Task<(int Code, string Out, string Err)> run)
    {
        var r = await run;
        if (r.Code != 0) throw new InvalidOperationException(r.Out + r.Err);
    }
}
