// Settings of `appliance-runtime server`.
namespace Appliance.ClusterRuntime.Server;

/// <summary>What the server command was given.</summary>
public sealed record ServerOptions
{
    /// <summary>Holds the datastore, the PKI, the token and the kubeconfig.</summary>
    public required string DataDir { get; init; }
    /// <summary>Address to listen on (default all).</summary>
    public string BindAddress { get; init; } = "0.0.0.0";
    /// <summary>Address other nodes reach this server at (the <c>kubernetes</c> endpoints); null: the bind address if specific, else the host's primary address.</summary>
    public string? AdvertiseAddress { get; init; }
    /// <summary>HTTPS port (default 6443; 0 picks a free port).</summary>
    public int HttpsPort { get; init; } = 6443;
    /// <summary>Extra names and addresses for the serving certificate.</summary>
    public IReadOnlyList<string> TlsSans { get; init; } = [];
    /// <summary>
    /// The embedded agent's options (node flags, data dir DIR/agent), or null with <c>--disable-agent</c>. Its server
    /// URL and token are placeholders until the server is up: <see cref="ServerCommand"/> fills them in.
    /// </summary>
    public Agent.AgentOptions? Agent { get; init; }
    /// <summary>How often history is compacted (kube-apiserver's default is 5 minutes).</summary>
    public TimeSpan CompactInterval { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>postgres://… to use PostgreSQL instead of SQLite.</summary>
    public string? DatastoreEndpoint { get; init; }
    /// <summary>Start on a damaged or unexpectedly empty SQLite datastore by moving it aside (instead of refusing).</summary>
    public bool ResetDatastore { get; init; }
    /// <summary>How often the SQLite datastore is snapshotted (also once at start); zero turns snapshots off.</summary>
    public TimeSpan SnapshotInterval { get; init; } = TimeSpan.FromHours(6);
    /// <summary>How many snapshots are kept.</summary>
    public int SnapshotRetention { get; init; } = 5;
    /// <summary>Most non-mutating requests served at once; watches are not counted (0 = no limit).</summary>
    public int MaxRequestsInflight { get; init; } = 64;
    /// <summary>Most mutating requests served at once (0 = no limit).</summary>
    public int MaxMutatingRequestsInflight { get; init; } = 32;
    /// <summary>Most open connections; past it new ones are closed at once (0 = no limit).</summary>
    public int MaxConnections { get; init; } = 1024;
    /// <summary>How long a connection may stay open with no request in progress.</summary>
    public TimeSpan IdleConnectionTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>How far, in bytes, one watch's client may fall behind before it is cut off.</summary>
    public long WatchBufferBytes { get; init; } = Api.WatchStream.DefaultMaxBufferedBytes;
    /// <summary>How long Events live after their last write (kube-apiserver's <c>--event-ttl</c>).</summary>
    public TimeSpan EventTtl { get; init; } = TimeSpan.FromHours(1);
    /// <summary>Cluster settings of the controllers (address ranges, node monitoring).</summary>
    public Controllers.Machinery.ControllerOptions Controllers { get; init; } = new();
}
