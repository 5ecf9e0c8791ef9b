// Kubernetes' version ordering (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > other, by name), used for a group's preferred version.
using System.Text.RegularExpressions;

namespace Appliance.ClusterRuntime.Api.CustomResources;

/// <summary>Orders version names as discovery lists them, most preferred first.</summary>
public sealed partial class VersionPriority : IComparer<string>
{
    /// <summary>The one instance.</summary>
    public static readonly VersionPriority Instance = new();

    /// <inheritdoc />
    public int Compare(string? x, string? y)
    {
        var (a, b) = (Key(x ?? ""), Key(y ?? ""));
        if (a.Level != b.Level) return b.Level.CompareTo(a.Level);
        if (a.Level == 0) return string.CompareOrdinal(x, y);
        if (a.Major != b.Major) return b.Major.CompareTo(a.Major);
        return b.Minor.CompareTo(a.Minor);
    }

    /// <summary>Level 3 GA, 2 beta, 1 alpha, 0 not a Kubernetes version.</summary>
    static (int Level, int Major, int Minor) Key(string v)
    {
        var m = Pattern().Match(v);
        if (!m.Success) return (0, 0, 0);
        int major = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int minor = m.Groups[3].Success ? int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        return (m.Groups[2].Value switch { "" => 3, "beta" => 2, _ => 1 }, major, minor);
    }

    [GeneratedRegex(@"^v([1-9][0-9]*)(?:(alpha|beta)([1-9][0-9]*))?$")]
    private static partial Regex Pattern();
}
