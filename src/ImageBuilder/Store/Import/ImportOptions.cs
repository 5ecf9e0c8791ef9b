// What `store add` accepts: device files, the layer size limit, and an extra name.
namespace Appliance.ImageBuilder.Store.Import;

/// <summary>Policy for one add.</summary>
public sealed record ImportOptions
{
    /// <summary>Default limit on a layer's unpacked size: 16 GiB.</summary>
    public const long DefaultMaxLayerSize = 16L << 30;

    /// <summary>Accept character and block devices in layers (OS base images); application images may not have them.</summary>
    public bool AllowDevices { get; init; }

    /// <summary>A layer that unpacks to more than this many bytes is refused.</summary>
    public long MaxLayerSize { get; init; } = DefaultMaxLayerSize;

    /// <summary>Also name the image this (only when the source holds exactly one image).</summary>
    public string? Name { get; init; }
}
