// A container's startupProbe/livenessProbe/readinessProbe as the kubelet reads it (core/v1 Probe, upstream defaults).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Probes;

/// <summary>Which of a container's three probes.</summary>
internal enum ProbeKind { Startup, Liveness, Readiness }

/// <summary>
/// One probe with its timing: initialDelaySeconds 0, periodSeconds 10, timeoutSeconds 1, successThreshold 1 (always 1
/// for startup and liveness), failureThreshold 3 unless given. <see cref="Action"/> is the probe object itself; its
/// handler is one of <c>exec</c>, <c>httpGet</c>, <c>tcpSocket</c> (<c>grpc</c> is not run, see the README).
/// </summary>
internal sealed record ProbeSpec(ProbeKind Kind, JsonObject Action, TimeSpan InitialDelay, TimeSpan Period, TimeSpan Timeout, int SuccessThreshold, int FailureThreshold)
{
    /// <summary>The probe of <paramref name="kind"/> in a container spec, or null when it has none (or only grpc).</summary>
    public static ProbeSpec? Of(JsonObject container, ProbeKind kind)
    {
        var field = kind switch { ProbeKind.Startup => "startupProbe", ProbeKind.Liveness => "livenessProbe", _ => "readinessProbe" };
        if (Obj.Object(container, field) is not { } p) return null;
        if (p["exec"] is null && p["httpGet"] is null && p["tcpSocket"] is null) return null;
        static int Positive(JsonObject p, string name, int fallback) => Math.Max(1, Obj.Int(p, fallback, name));
        return new ProbeSpec(kind, p,
            TimeSpan.FromSeconds(Math.Max(0, Obj.Int(p, 0, "initialDelaySeconds"))),
            TimeSpan.FromSeconds(Positive(p, "periodSeconds", 10)),
            TimeSpan.FromSeconds(Positive(p, "timeoutSeconds", 1)),
            kind == ProbeKind.Readiness ? Positive(p, "successThreshold", 1) : 1,
            Positive(p, "failureThreshold", 3));
    }

    /// <summary>A port given by number, numeric string or the name of one of the container's ports.</summary>
    /// <exception cref="InvalidOperationException">The name matches no container port.</exception>
    public static int Port(JsonNode? port, JsonObject container)
    {
        if (port is JsonValue v && v.TryGetValue<int>(out var n)) return n;
        var s = port?.GetValue<string>() ?? "";
        if (int.TryParse(s, out n)) return n;
        return Obj.Items(container, "ports").FirstOrDefault(p => Obj.Str(p, "name") == s) is { } named && Obj.Long(named, "containerPort") is { } cp
            ? (int)cp
            : throw new InvalidOperationException($"port \"{s}\" is not a named port of container {Obj.Str(container, "name")}");
    }

    /// <summary>Upstream's word for the probe in messages ("Liveness probe failed: ...").</summary>
    public string Name => Kind.ToString();
}
