// The server verb's resource-limit options (in-flight requests, connections, idle timeout), kept apart from the rest.
using System.CommandLine;

namespace Appliance.ClusterRuntime.Server;

/// <summary>Options that bound what clients can make the server hold.</summary>
public static class LimitOptions
{
    /// <summary>--max-requests-inflight (as kube-apiserver's).</summary>
    public static readonly Option<int> MaxRequestsInflight = new("--max-requests-inflight")
    {
        Description = "Most non-mutating requests served at once, watches not counted; past it 429 (0 = no limit)",
        DefaultValueFactory = _ => 64,
    };

    /// <summary>--max-mutating-requests-inflight (as kube-apiserver's).</summary>
    public static readonly Option<int> MaxMutatingRequestsInflight = new("--max-mutating-requests-inflight")
    {
        Description = "Most mutating requests served at once; past it 429 (0 = no limit)",
        DefaultValueFactory = _ => 32,
    };

    /// <summary>--max-connections.</summary>
    public static readonly Option<int> MaxConnections = new("--max-connections")
    {
        Description = "Most open client connections; past it new ones are closed (0 = no limit)",
        DefaultValueFactory = _ => 1024,
    };

    /// <summary>--idle-connection-timeout (seconds).</summary>
    public static readonly Option<int> IdleConnectionTimeout = new("--idle-connection-timeout")
    {
        Description = "Seconds a connection may stay open with no request in progress",
        DefaultValueFactory = _ => 120,
    };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public static void AddTo(Command command)
    {
        command.Options.Add(MaxRequestsInflight);
        command.Options.Add(MaxMutatingRequestsInflight);
        command.Options.Add(MaxConnections);
        command.Options.Add(IdleConnectionTimeout);
    }

    /// <summary><paramref name="options"/> with the values given on the command line.</summary>
    public static ServerOptions Apply(ParseResult parse, ServerOptions options) => options with
    {
        MaxRequestsInflight = parse.GetValue(MaxRequestsInflight),
        MaxMutatingRequestsInflight = parse.GetValue(MaxMutatingRequestsInflight),
        MaxConnections = parse.GetValue(MaxConnections),
        IdleConnectionTimeout = TimeSpan.FromSeconds(parse.GetValue(IdleConnectionTimeout)),
    };

    /// <summary>The first limit that is out of range, as a one-line message; null when all are fine.</summary>
    public static string? Check(ServerOptions options) =>
        options.MaxRequestsInflight < 0 ? $"--max-requests-inflight: {options.MaxRequestsInflight} is negative"
        : options.MaxMutatingRequestsInflight < 0 ? $"--max-mutating-requests-inflight: {options.MaxMutatingRequestsInflight} is negative"
        : options.MaxConnections < 0 ? $"--max-connections: {options.MaxConnections} is negative"
        : options.IdleConnectionTimeout <= TimeSpan.Zero ? $"--idle-connection-timeout: {options.IdleConnectionTimeout.TotalSeconds} must be at least 1 second"
        : null;
}
