// The --node-label and --node-taint values, parsed and checked as the kubelet's flags are.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Agent.Node;

/// <summary>A taint from <c>--node-taint key=value:Effect</c> (or <c>key:Effect</c>).</summary>
public sealed record Taint(string Key, string? Value, string Effect)
{
    /// <summary>The taint as it appears in <c>spec.taints</c>.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject { ["key"] = Key, ["effect"] = Effect };
        if (Value is not null) o["value"] = Value;
        return o;
    }

    /// <summary>Parses one flag value; throws <see cref="ArgumentException"/> naming the flag and the problem.</summary>
    public static Taint Parse(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0) throw new ArgumentException($"--node-taint: \"{text}\" is not key=value:Effect");
        var effect = text[(colon + 1)..];
        if (effect is not ("NoSchedule" or "PreferNoSchedule" or "NoExecute"))
            throw new ArgumentException($"--node-taint: \"{text}\": effect \"{effect}\" is not NoSchedule, PreferNoSchedule or NoExecute");
        var kv = text[..colon];
        var eq = kv.IndexOf('=');
        var key = eq < 0 ? kv : kv[..eq];
        var value = eq < 0 ? null : kv[(eq + 1)..];
        if (Validation.QualifiedName(key) is { } badKey) throw new ArgumentException($"--node-taint: \"{text}\": key {badKey}");
        if (value is { Length: > 0 } && Validation.LabelValue(value) is { } badValue) throw new ArgumentException($"--node-taint: \"{text}\": value {badValue}");
        return new Taint(key, value, effect);
    }
}

/// <summary>Parses <c>--node-label key=value</c>.</summary>
public static class NodeLabel
{
    /// <summary>Parses the flag values into a map; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public static Dictionary<string, string> Parse(IEnumerable<string> values)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var text in values)
        {
            var eq = text.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"--node-label: \"{text}\" is not key=value");
            var (key, value) = (text[..eq], text[(eq + 1)..]);
            if (Validation.QualifiedName(key) is { } badKey) throw new ArgumentException($"--node-label: \"{text}\": key {badKey}");
            if (Validation.LabelValue(value) is { } badValue) throw new ArgumentException($"--node-label: \"{text}\": value {badValue}");
            labels[key] = value;
        }
        return labels;
    }
}
