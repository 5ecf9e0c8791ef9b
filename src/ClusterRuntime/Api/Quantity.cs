// resource.Quantity values ("100m", "1.5Gi", "2e3") read as numbers.
using System.Globalization;
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api;

/// <summary>Reads Kubernetes quantities; the schema check (<c>quantity</c>) has already refused malformed ones.</summary>
public static class Quantity
{
    static readonly (string Suffix, decimal Factor)[] Suffixes =
    [
        ("Ki", 1024m), ("Mi", 1024m * 1024), ("Gi", 1024m * 1024 * 1024), ("Ti", 1024m * 1024 * 1024 * 1024),
        ("Pi", 1024m * 1024 * 1024 * 1024 * 1024), ("Ei", 1024m * 1024 * 1024 * 1024 * 1024 * 1024),
        ("n", 1e-9m), ("u", 1e-6m), ("m", 1e-3m), ("k", 1e3m), ("M", 1e6m), ("G", 1e9m), ("T", 1e12m), ("P", 1e15m), ("E", 1e18m),
    ];

    /// <summary>The quantity in thousandths, rounded up as upstream's <c>MilliValue</c> does (0 when absent or unreadable).</summary>
    public static long Milli(JsonNode? value)
    {
        var q = Parse(value);
        var milli = decimal.Ceiling(q * 1000m);
        return milli >= long.MaxValue ? long.MaxValue : (long)milli;
    }

    /// <summary>The quantity in units, rounded up as upstream's <c>Value</c> does (0 when absent or unreadable).</summary>
    public static long Value(JsonNode? value)
    {
        var q = decimal.Ceiling(Parse(value));
        return q >= long.MaxValue ? long.MaxValue : (long)q;
    }

    /// <summary>The quantity as a decimal (0 when absent or unreadable; saturates at about 7.9e28).</summary>
    public static decimal Parse(JsonNode? value)
    {
        if (value is not JsonValue v) return 0;
        if (v.TryGetValue<decimal>(out var d)) return d;
        if (v.TryGetValue<double>(out var x)) return (decimal)x;
        if (!v.TryGetValue<string>(out var s)) return 0;
        return Parse(s);
    }

    /// <summary>Parses a quantity string such as <c>250m</c>, <c>1Gi</c> or <c>1e3</c>.</summary>
    public static decimal Parse(string text)
    {
        text = text.Trim();
        foreach (var (suffix, factor) in Suffixes)
            if (text.EndsWith(suffix, StringComparison.Ordinal) && Number(text[..^suffix.Length]) is { } n)
                return Scale(n, factor);
        return Number(text) ?? 0;
    }

    static decimal Scale(decimal n, decimal factor)
    {
        try { return n * factor; }
        catch (OverflowException) { return n < 0 ? decimal.MinValue : decimal.MaxValue; }
    }

    static decimal? Number(string s) =>
        decimal.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d
        : double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && !double.IsInfinity(x) ? (decimal)Math.Clamp(x, -7.9e28, 7.9e28) : null;
}
