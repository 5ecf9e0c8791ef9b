// `store export`: the named images, every platform, as one oci-archive that `store add` takes back losslessly.
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Oci.Archive;

namespace Appliance.ImageBuilder.Store;

public sealed partial class ContentStore
{
    /// <summary>
    /// Writes the images <paramref name="references"/> name to an oci-archive at <paramref name="outputPath"/>.
    /// Its index.json holds the same entries (same descriptors, same annotations) as this store's index.json.
    /// </summary>
    public IReadOnlyList<Descriptor> Export(IEnumerable<string> references, string outputPath, DateTimeOffset timestamp)
    {
        var entries = new List<Descriptor>();
        foreach (var r in references)
            foreach (var e in Find(r))
                if (!entries.Contains(e))
                    entries.Add(e);
        var blobs = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var e in entries)
            Reachable(e, blobs, null, null);
        var index = new ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = StoreIndex.Sorted(entries) };
        new OciArchiveWriter(this, timestamp).Write(outputPath, index, blobs.Keys.Select(d => Digest.Parse(d, Root)));
        return index.Manifests;
    }
}
