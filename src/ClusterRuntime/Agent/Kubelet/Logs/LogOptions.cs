// What a log request asks for: the query of /containerLogs and of pods/NAME/log (kubectl logs flags).
using System.Globalization;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Logs;

/// <summary>Options of one log read (upstream <c>PodLogOptions</c>).</summary>
public sealed record LogOptions
{
    /// <summary>Keep reading as the file grows (<c>follow</c>).</summary>
    public bool Follow { get; init; }
    /// <summary>Read the log of the previous instance of the container (<c>previous</c>).</summary>
    public bool Previous { get; init; }
    /// <summary>Prefix each line with the runtime's timestamp and a space (<c>timestamps</c>).</summary>
    public bool Timestamps { get; init; }
    /// <summary>Only the last N lines (<c>tailLines</c>); null for all.</summary>
    public long? TailLines { get; init; }
    /// <summary>Only records at or after this time (<c>sinceSeconds</c> or <c>sinceTime</c>).</summary>
    public DateTimeOffset? Since { get; init; }
    /// <summary>Stop after this many bytes of output (<c>limitBytes</c>).</summary>
    public long? LimitBytes { get; init; }

    /// <summary>
    /// Reads the options from a query; <paramref name="get"/> returns a parameter's value or null when absent.
    /// A bad value throws <see cref="ArgumentException"/> naming the parameter.
    /// </summary>
    public static LogOptions Parse(Func<string, string?> get, DateTimeOffset now)
    {
        var sinceSeconds = Long(get, "sinceSeconds", 1);
        var sinceTimeText = get("sinceTime");
        if (sinceSeconds is not null && !string.IsNullOrEmpty(sinceTimeText))
            throw new ArgumentException("at most one of sinceTime or sinceSeconds may be specified");
        DateTimeOffset? since = sinceSeconds is { } s ? now.AddSeconds(-s) : null;
        if (!string.IsNullOrEmpty(sinceTimeText))
        {
            if (!DateTimeOffset.TryParse(sinceTimeText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
                throw new ArgumentException($"sinceTime \"{sinceTimeText}\" is not an RFC 3339 time");
            since = t;
        }
        return new LogOptions
        {
            Follow = Bool(get, "follow"),
            Previous = Bool(get, "previous"),
            Timestamps = Bool(get, "timestamps"),
            TailLines = Long(get, "tailLines", 0),
            LimitBytes = Long(get, "limitBytes", 1),
            Since = since,
        };
    }

    static bool Bool(Func<string, string?> get, string name) => get(name) switch
    {
        null or "" or "false" or "0" => false,
        "true" or "1" => true,
        var v => throw new ArgumentException($"{name} \"{v}\" is not a boolean"),
    };

    static long? Long(Func<string, string?> get, string name, long min)
    {
        var v = get(name);
        if (string.IsNullOrEmpty(v)) return null;
        if (!long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < min)
            throw new ArgumentException($"{name} \"{v}\" must be an integer of at least {min}");
        return n;
    }
}
