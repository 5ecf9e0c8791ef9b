// Chooses the manifest for one platform from an image index; the error lists the platforms the index has.
namespace Appliance.ImageBuilder.Oci;

/// <summary>Platform selection in an image index (image-spec image-index.md, "platform").</summary>
public static class PlatformSelector
{
    /// <summary>
    /// The first entry of <paramref name="index"/> that is a manifest for <paramref name="want"/>.
    /// Throws <see cref="PlatformNotFoundException"/> naming <paramref name="image"/> and every platform present.
    /// </summary>
    public static Descriptor Select(ImageIndex index, Platform want, string image)
    {
        foreach (var d in index.Manifests)
            if (d.Platform is { } p && want.Matches(p) && (MediaTypes.IsManifest(d.MediaType) || MediaTypes.IsIndex(d.MediaType)))
                return d;
        var present = index.Manifests.Where(d => d.Platform != null && d.Platform.Os != "unknown")
            .Select(d => d.Platform!.ToString()).Distinct().ToList();
        throw new PlatformNotFoundException(present.Count == 0
            ? $"image {image} has no platform entries, so it has no {want} variant"
            : $"image {image} has no {want} variant; it has: {string.Join(", ", present)}");
    }
}
