// OCI platform (image-spec image-index.md "platform"); which board runs which is in Boards/Board.cs.
using System.Text.Json.Serialization;

namespace Appliance.ImageBuilder.Oci;

/// <summary>An os/architecture/variant triple.</summary>
public sealed record Platform
{
    /// <summary>Operating system, e.g. linux.</summary>
    [JsonPropertyName("os")] public string Os { get; init; } = "";
    /// <summary>GOARCH-style architecture: amd64, arm64, arm.</summary>
    [JsonPropertyName("architecture")] public string Architecture { get; init; } = "";
    /// <summary>CPU variant, e.g. v7 for arm; optional.</summary>
    [JsonPropertyName("variant"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Variant { get; init; }

    /// <summary>linux/amd64.</summary>
    public static Platform LinuxAmd64 { get; } = new() { Os = "linux", Architecture = "amd64" };
    /// <summary>linux/arm64.</summary>
    public static Platform LinuxArm64 { get; } = new() { Os = "linux", Architecture = "arm64" };
    /// <summary>linux/arm/v7.</summary>
    public static Platform LinuxArmV7 { get; } = new() { Os = "linux", Architecture = "arm", Variant = "v7" };

    /// <summary>"os/arch[/variant]".</summary>
    public override string ToString() => Variant is { Length: > 0 } ? $"{Os}/{Architecture}/{Variant}" : $"{Os}/{Architecture}";

    /// <summary>Parses "os/arch[/variant]".</summary>
    public static Platform Parse(string text)
    {
        var p = text.Split('/');
        if (p.Length is < 2 or > 3 || p.Any(string.IsNullOrEmpty))
            throw new FormatException($"'{text}' is not a platform (expected os/arch or os/arch/variant)");
        return new Platform { Os = p[0], Architecture = p[1], Variant = p.Length == 3 ? p[2] : null };
    }

    /// <summary>
    /// True when an image built for <paramref name="image"/> runs here. Variants are normalised as containerd does:
    /// arm64 with no variant is v8, arm with no variant is v7.
    /// </summary>
    public bool Matches(Platform image)
    {
        if (!string.Equals(Os, image.Os, StringComparison.Ordinal) || !string.Equals(Architecture, image.Architecture, StringComparison.Ordinal))
            return false;
        return NormalVariant(this) == NormalVariant(image);
    }

    private static string NormalVariant(Platform p) => (p.Architecture, p.Variant) switch
    {
        ("arm64", null or "" or "v8") => "v8",
        ("arm", null or "") => "v7",
        ("amd64", null or "" or "v1") => "",
        (_, var v) => v ?? "",
    };
}
