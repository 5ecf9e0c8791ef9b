// The `appliance-runtime server` verb: options and wiring.
using System.CommandLine;
using Appliance.ClusterRuntime.Agent;

namespace Appliance.ClusterRuntime.Server;

/// <summary>Defines the server verb.</summary>
public static class ServerCommandDefinition
{
    /// <summary>--data-dir.</summary>
    public static readonly Option<string> DataDir = new("--data-dir", "-d")
    {
        Description = "Directory for the datastore, certificates, token and kubeconfig",
        DefaultValueFactory = _ => "/var/lib/appliance-runtime/server",
    };

    /// <summary>--bind-address.</summary>
    public static readonly Option<string> BindAddress = new("--bind-address")
    {
        Description = "Address to listen on",
        DefaultValueFactory = _ => "0.0.0.0",
    };

    /// <summary>--advertise-address.</summary>
    public static readonly Option<string?> AdvertiseAddress = new("--advertise-address")
    {
        Description = "Address the server advertises in the kubernetes Service's endpoints (default: --bind-address if specific, else the host's primary address)",
    };

    /// <summary>--https-listen-port.</summary>
    public static readonly Option<int> HttpsPort = new("--https-listen-port")
    {
        Description = "HTTPS port of the API (0 picks a free port)",
        DefaultValueFactory = _ => 6443,
    };

    /// <summary>--tls-san (repeatable).</summary>
    public static readonly Option<string[]> TlsSan = new("--tls-san")
    {
        Description = "Extra host name or IP address for the serving certificate (repeatable)",
        AllowMultipleArgumentsPerToken = false,
        DefaultValueFactory = _ => [],
    };

    /// <summary>--disable-agent.</summary>
    public static readonly Option<bool> DisableAgent = new("--disable-agent")
    {
        Description = "Do not run the embedded agent (containerd, kubelet) on this server: it serves the API only",
    };

    /// <summary>--datastore-endpoint.</summary>
    public static readonly Option<string?> DatastoreEndpoint = new("--datastore-endpoint")
    {
        Description = "postgres://user:password@host:port/database to use PostgreSQL instead of SQLite",
    };

    /// <summary>--reset-datastore.</summary>
    public static readonly Option<bool> ResetDatastore = new("--reset-datastore")
    {
        Description = "When the SQLite datastore is damaged or unexpectedly empty, move it aside and start an empty one instead of refusing to start",
    };

    /// <summary>--snapshot-interval.</summary>
    public static readonly Option<TimeSpan> SnapshotInterval = new("--snapshot-interval")
    {
        Description = "How often to snapshot the SQLite datastore into DIR/db/snapshots, also once at start (e.g. 6h, 30m; 0 turns snapshots off)",
        DefaultValueFactory = _ => TimeSpan.FromHours(6),
        CustomParser = Duration.Parse,
    };

    /// <summary>--snapshot-retention.</summary>
    public static readonly Option<int> SnapshotRetention = new("--snapshot-retention")
    {
        Description = "Snapshots to keep; the oldest beyond this are deleted",
        DefaultValueFactory = _ => 5,
    };

    /// <summary>--event-ttl (kube-apiserver's flag).</summary>
    public static readonly Option<TimeSpan> EventTtl = new("--event-ttl")
    {
        Description = "How long an Event is kept after its last update (e.g. 1h, 30m)",
        DefaultValueFactory = _ => TimeSpan.FromHours(1),
        CustomParser = Duration.Parse,
    };

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("server", "Run the Kubernetes API server (SQLite datastore, generated PKI, admin kubeconfig, node token)")
        {
            DataDir, BindAddress, AdvertiseAddress, HttpsPort, TlsSan, DisableAgent, DatastoreEndpoint, ResetDatastore, SnapshotInterval, SnapshotRetention, EventTtl,
        };
        foreach (var flag in AgentCommandDefinition.NodeFlags) command.Options.Add(flag);
        LimitOptions.AddTo(command);
        ClusterOptions.AddTo(command);
        command.SetAction((parse, ct) =>
        {
            var options = new ServerOptions
            {
                DataDir = Path.GetFullPath(parse.GetValue(DataDir)!),
                BindAddress = parse.GetValue(BindAddress)!,
                AdvertiseAddress = parse.GetValue(AdvertiseAddress),
                HttpsPort = parse.GetValue(HttpsPort),
                TlsSans = parse.GetValue(TlsSan) ?? [],
                DatastoreEndpoint = parse.GetValue(DatastoreEndpoint),
                ResetDatastore = parse.GetValue(ResetDatastore),
                SnapshotInterval = parse.GetValue(SnapshotInterval),
                SnapshotRetention = parse.GetValue(SnapshotRetention),
                EventTtl = parse.GetValue(EventTtl),
            };
            if (options.EventTtl <= TimeSpan.Zero)
            {
                Console.Error.WriteLine("appliance-runtime server: --event-ttl: must be positive");
                return Task.FromResult(2);
            }
            try
            {
                options = ClusterOptions.Apply(parse, options);
                if (!parse.GetValue(DisableAgent)) options = options with { Agent = EmbeddedAgent.Options(parse, options) };
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"appliance-runtime server: {e.Message}");
                return Task.FromResult(2);
            }
            return new ServerCommand(LimitOptions.Apply(parse, options), Console.Error).RunAsync(ct);
        });
        return command;
    }
}
