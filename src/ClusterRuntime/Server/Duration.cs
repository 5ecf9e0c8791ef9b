// Durations on the command line as Kubernetes and K3s write them: 6h, 30m, 90s, 1h30m, 0.
using System.Globalization;
using System.Text.RegularExpressions;

namespace Appliance.ClusterRuntime.Server;

/// <summary>Parses Go-style durations (a sequence of number+unit with units h, m, s, ms; or a bare 0).</summary>
public static partial class Duration
{
    [GeneratedRegex(@"^(?:(\d+)(h|ms|m|s))+$")]
    private static partial Regex Pattern();

    /// <summary>True when <paramref name="text"/> is a duration; <paramref name="value"/> is then its length.</summary>
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (text == "0") return true;
        var m = Pattern().Match(text);
        if (!m.Success) return false;
        for (var i = 0; i < m.Groups[1].Captures.Count; i++)
        {
            var n = long.Parse(m.Groups[1].Captures[i].Value, CultureInfo.InvariantCulture);
            value += m.Groups[2].Captures[i].Value switch
            {
                "h" => TimeSpan.FromHours(n),
                "m" => TimeSpan.FromMinutes(n),
                "s" => TimeSpan.FromSeconds(n),
                _ => TimeSpan.FromMilliseconds(n),
            };
        }
        return true;
    }

    /// <summary>An option value parser for System.CommandLine that reports a bad duration as a usage error.</summary>
    public static TimeSpan Parse(System.CommandLine.Parsing.ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (TryParse(text, out var value)) return value;
        var name = result.Parent is System.CommandLine.Parsing.OptionResult o ? o.Option.Name : "duration";
        result.AddError($"{name}: \"{text}\" is not a duration (for example 6h, 30m, 90s, or 0)");
        return TimeSpan.Zero;
    }
}
