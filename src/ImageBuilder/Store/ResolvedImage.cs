// One image, resolved in the store down to a single platform's manifest and config.
using Appliance.ImageBuilder.Oci;

namespace Appliance.ImageBuilder.Store;

/// <summary>A single-platform image: its manifest descriptor, the parsed manifest and config.</summary>
/// <param name="Name">"name:tag", or null for an unnamed image.</param>
/// <param name="Manifest">The platform manifest's descriptor.</param>
/// <param name="ManifestDocument">The parsed manifest.</param>
/// <param name="Config">The parsed config.</param>
public sealed record ResolvedImage(string? Name, Descriptor Manifest, ImageManifest ManifestDocument, ImageConfig Config)
{
    /// <summary>The platform the config declares.</summary>
    public Platform Platform => Config.Platform;

    /// <summary>The layers, lowest first.</summary>
    public IReadOnlyList<Descriptor> Layers => ManifestDocument.Layers!;
}
