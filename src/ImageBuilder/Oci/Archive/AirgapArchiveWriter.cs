// The airgap archive: every image a profile preloads, for one platform, in one oci-archive for `ctr images import`.
namespace Appliance.ImageBuilder.Oci.Archive;

/// <summary>One image to preload: its full name:tag and its resolved single-platform manifest.</summary>
/// <param name="Name">Normalised "name:tag" (containerd stores the image under this name).</param>
/// <param name="Manifest">The platform manifest's descriptor.</param>
/// <param name="Config">The config descriptor.</param>
/// <param name="Layers">The layer descriptors.</param>
public sealed record AirgapImage(string Name, Descriptor Manifest, Descriptor Config, IReadOnlyList<Descriptor> Layers);

/// <summary>
/// Writes the images one architecture needs into a single oci-archive: index.json has one entry per image name,
/// pointing straight at that platform's manifest and annotated with <c>io.containerd.image.name</c> and
/// <c>org.opencontainers.image.ref.name</c> (both the full reference), so <c>ctr -n k8s.io images import</c>
/// creates every image under its name. Only the chosen platform's blobs are written.
/// </summary>
public sealed class AirgapArchiveWriter(IBlobSource blobs, DateTimeOffset timestamp)
{
    /// <summary>Writes <paramref name="images"/> to <paramref name="outputPath"/>; returns the index written.</summary>
    public ImageIndex Write(string outputPath, IReadOnlyList<AirgapImage> images)
    {
        var byName = new SortedDictionary<string, AirgapImage>(StringComparer.Ordinal);
        foreach (var i in images)
        {
            if (byName.TryGetValue(i.Name, out var other) && other.Manifest.Digest != i.Manifest.Digest)
                throw new InvalidDataException($"image name {i.Name} is given twice with different content ({other.Manifest.Digest}, {i.Manifest.Digest})");
            byName[i.Name] = i;
        }
        var index = new ImageIndex
        {
            MediaType = MediaTypes.OciIndex,
            Manifests = byName.Values.Select(i => new Descriptor
            {
                MediaType = i.Manifest.MediaType,
                Digest = i.Manifest.Digest,
                Size = i.Manifest.Size,
                Annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
                {
                    [Annotations.ContainerdName] = i.Name,
                    [Annotations.RefName] = i.Name,
                },
            }).ToList(),
        };
        var digests = byName.Values.SelectMany(i => new[] { i.Manifest, i.Config }.Concat(i.Layers))
            .Select(d => d.ParsedDigest("airgap image"));
        new OciArchiveWriter(blobs, timestamp).Write(outputPath, index, digests);
        return index;
    }
}
