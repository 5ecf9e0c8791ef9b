// A throw-away PostgreSQL server (Debian's package) on a unix socket in a temp dir, as the tests' PostgresServerFixture starts it.
using Npgsql;

namespace Appliance.Bench.RuntimeDatastore;

/// <summary>
/// <c>initdb</c> as the <c>postgres</c> user into <c>DIR/data</c>, then <c>pg_ctl start</c> listening only on a unix socket
/// in <c>DIR/sock</c> (no TCP). Default durability (fsync=on, synchronous_commit=on): an acknowledged write is on disk,
/// as with SQLite synchronous=FULL.
/// </summary>
internal sealed class PgServer : IAsyncDisposable
{
    private readonly string _dir;

    private PgServer(string bin, string dir)
    {
        Bin = bin;
        _dir = dir;
    }

    /// <summary>The server's bin directory (pgbench, pg_ctl).</summary>
    public string Bin { get; }

    /// <summary>Directory of the unix socket.</summary>
    public string Socket => Path.Combine(_dir, "sock");

    /// <summary>Connection string of <paramref name="database"/> on this server.</summary>
    public string ConnectionString(string database = "postgres") =>
        new NpgsqlConnectionStringBuilder { Host = Socket, Port = 5432, Username = "postgres", Database = database }.ConnectionString;

    /// <summary>Why no server can be started here, or null.</summary>
    public static string? SkipReason()
    {
        if (OperatingSystem.IsWindows()) return "not on Windows";
        if (FindBin() is null) return "no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)";
        return Environment.UserName == "root" ? null : "needs root to run the server as 'postgres'";
    }

    private static string? FindBin() => Directory.Exists("/usr/lib/postgresql")
        ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(b => File.Exists(Path.Combine(b, "initdb"))).Order(StringComparer.Ordinal).LastOrDefault()
        : null;

    /// <summary>Creates and starts a server in <paramref name="dir"/> (inside <paramref name="root"/>).</summary>
    public static async Task<PgServer> StartAsync(string root, string dir)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("PostgreSQL is started as a Unix user");
        var bin = FindBin() ?? throw new InvalidOperationException("PostgreSQL is not installed");
        // The server runs as 'postgres' and must be able to reach its directory inside our temp dir.
        File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var server = new PgServer(bin, dir);
        Directory.CreateDirectory(server.Socket);
        await Must(Util.RunAsync("chown", ["-R", "postgres:postgres", dir]));
        await Must(Util.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(bin, "initdb"), "-D", Path.Combine(dir, "data"), "-A", "trust", "-U", "postgres", "--no-instructions"]));
        await Must(Util.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(bin, "pg_ctl"), "-D", Path.Combine(dir, "data"), "-l", Path.Combine(dir, "log"), "-w",
            "-o", $"-k {server.Socket} -p 5432 -c listen_addresses='' -c max_connections=200", "start"]));
        return server;
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var c = new NpgsqlConnection(ConnectionString());
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name};", c);
        await cmd.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync() =>
        await Util.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(Bin, "pg_ctl"), "-D", Path.Combine(_dir, "data"), "-m", "fast", "-w", "stop"]);

    private static async Task Must(Task<(int Code, string Out, string Err)> run)
    {
        var r = await run;
        if (r.Code != 0) throw new InvalidOperationException(r.Out + r.Err);
    }
}
