// Starts a throw-away PostgreSQL server (Debian's package) on a unix socket for the backend suite, and stops it.
using Npgsql;

namespace Appliance.ClusterRuntime.Tests.Datastore;

/// <summary>
/// One PostgreSQL cluster per test class: <c>initdb</c> into a temp dir as the <c>postgres</c> user (the server refuses
/// to run as root), then <c>pg_ctl start</c> listening only on a unix socket in that dir. Each test gets its own database.
/// </summary>
public sealed class PostgresServerFixture : IAsyncLifetime
{
    private TempDir? _root;
    private string? _bin;
    private string? _runAs;
    private int _databases;

    /// <summary>Why no server could be started, or null when it runs.</summary>
    public string? SkipReason { get; private set; }

    private string SocketDir => _root!["sock"];
    private string DataDir => _root!["data"];

    public async ValueTask InitializeAsync()
    {
        _bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb"))).OrderBy(b => b, StringComparer.Ordinal).LastOrDefault()
            : null;
        if (_bin is null)
        {
            SkipReason = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; apt-get install postgresql)";
            return;
        }
        _root = new TempDir("datastore-pg-");
        Directory.CreateDirectory(SocketDir);
        if (Environment.UserName == "root")
        {
            if ((await RunAsync("id", ["-u", "postgres"])).Code != 0)
            {
                SkipReason = "running as root and there is no 'postgres' user to run the server as";
                return;
            }
            _runAs = "postgres";
            var chown = await RunAsync("chown", ["-R", "postgres:postgres", _root.Path]);
            if (chown.Code != 0) throw new InvalidOperationException("chown: " + chown.Output);
        }
        var init = await RunAsync(Path.Combine(_bin, "initdb"), ["-D", DataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"]);
        if (init.Code != 0) throw new InvalidOperationException("initdb failed: " + init.Output);
        // Durability of the throw-away server is not what these tests check; fsync=off keeps the suite fast.
        var start = await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDir, "-l", _root["server.log"], "-w", "-t", "60",
            "-o", $"-k {SocketDir} -p 5432 -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", "start"]);
        if (start.Code != 0)
            throw new InvalidOperationException("pg_ctl start failed: " + start.Output + File.ReadAllText(_root["server.log"]));
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"t{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}"[..20];
        await using var conn = new NpgsqlConnection(ConnectionString("postgres"));
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name};", conn);
        await cmd.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    private string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = SocketDir, Port = 5432, Username = "postgres", Database = database, Pooling = true }.ConnectionString;

    public async ValueTask DisposeAsync()
    {
        if (_root is null) return;
        if (_bin is not null && File.Exists(Path.Combine(DataDir, "postmaster.pid")))
            await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDir, "-m", "immediate", "-w", "stop"]);
        NpgsqlConnection.ClearAllPools();
        _root.Dispose();
    }

    private async Task<(int Code, string Output)> RunAsync(string file, string[] args)
    {
        var r = _runAs is null || file is "id" or "chown"
            ? await ProcessRunner.RunAsync(file, args)
            : await ProcessRunner.RunAsync("runuser", ["-u", _runAs, "--", file, .. args]);
        return (r.ExitCode, r.Out + r.Error);
    }
}
