// Chooses the backend for `server --data-dir DIR [--datastore-endpoint URL]`.
using Appliance.ClusterRuntime.Datastore.Postgres;
using Appliance.ClusterRuntime.Datastore.Sqlite;
using Npgsql;

namespace Appliance.ClusterRuntime.Datastore;

/// <summary>Turns the server's datastore settings into an <see cref="IBackend"/> (not yet started).</summary>
public static class DatastoreEndpoint
{
    /// <summary>
    /// No endpoint (or <c>sqlite</c>): SQLite in <c>DIR/db/state.db</c>. <c>postgres://user:password@host:port/database</c>
    /// (or <c>postgresql://</c>, or an Npgsql connection string with <c>Host=</c>): PostgreSQL.
    /// </summary>
    /// <exception cref="ArgumentException">The endpoint is neither form; the message names it.</exception>
    public static IBackend Open(string dataDir, string? endpoint)
    {
        if (string.IsNullOrWhiteSpace(endpoint) || endpoint == "sqlite")
            return new SqliteBackend(new SqliteBackendOptions { DataDir = Path.Combine(dataDir, "db") });
        return new PostgresBackend(new PostgresBackendOptions { ConnectionString = ToConnectionString(endpoint) });
    }

    /// <summary>Converts a <c>postgres://</c> URL to an Npgsql connection string; passes a connection string through.</summary>
    public static string ToConnectionString(string endpoint)
    {
        if (endpoint.Contains("Host=", StringComparison.OrdinalIgnoreCase)) return endpoint;
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("postgres" or "postgresql"))
            throw new ArgumentException($"--datastore-endpoint '{endpoint}': expected postgres://user:password@host:port/database or an Npgsql connection string");
        var b = new NpgsqlConnectionStringBuilder { Host = uri.Host, Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port };
        var db = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (db.Length > 0) b.Database = db;
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            b.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2) b.Password = Uri.UnescapeDataString(parts[1]);
        }
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            if (kv[0] == "sslmode" && kv.Length == 2)
                b.SslMode = Enum.Parse<SslMode>(kv[1].Replace("-", "", StringComparison.Ordinal), ignoreCase: true);
        }
        return b.ConnectionString;
    }
}
