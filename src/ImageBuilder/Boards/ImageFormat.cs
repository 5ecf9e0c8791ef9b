// What a build writes, and which of those formats this builder can make today.
using System.Reflection;
using System.Text.Json.Serialization;

namespace Appliance.ImageBuilder.Boards;

/// <summary>What the build writes. Which boards boot which format is in <see cref="Board.Formats"/>.</summary>
public enum ImageFormat
{
    /// <summary>A raw disk image (GPT or MBR) to write to a disk or SD card.</summary>
    [JsonStringEnumMemberName("raw")] Raw,
    /// <summary>A hybrid ISO 9660 image (El Torito EFI, and BIOS on x86_64) to burn or write to a USB stick; it boots live and installs to disk.</summary>
    [JsonStringEnumMemberName("iso")] Iso,
}

/// <summary>The formats this builder writes; the others are known to profiles but refused until their writer exists.</summary>
public static class ImageFormats
{
    /// <summary>The formats <c>appliance build</c> can make.</summary>
    public static IReadOnlyList<ImageFormat> Built { get; } = [ImageFormat.Raw, ImageFormat.Iso];

    /// <summary>The spelling profiles use (<c>raw</c>, <c>iso</c>).</summary>
    public static string Name(ImageFormat format) =>
        typeof(ImageFormat).GetField(format.ToString())?.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name
        ?? throw new ArgumentOutOfRangeException(nameof(format), format, "unknown image format");
}
