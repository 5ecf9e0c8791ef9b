// The entries of the store's index.json: one descriptor per name:tag (or per digest for unnamed images).
using Appliance.ImageBuilder.Oci;

namespace Appliance.ImageBuilder.Store;

/// <summary>Reads and edits the list of images in index.json.</summary>
public static class StoreIndex
{
    /// <summary>The full "name:tag" an entry carries, or null for an unnamed image.</summary>
    public static string? NameOf(Descriptor entry) =>
        entry.Annotation(Annotations.ContainerdName) ?? entry.Annotation(Annotations.RefName);

    /// <summary>A store entry: the image descriptor annotated with its full reference in both keys containerd reads.</summary>
    public static Descriptor Entry(Descriptor image, string? nameAndTag) => new()
    {
        MediaType = image.MediaType,
        Digest = image.Digest,
        Size = image.Size,
        Annotations = nameAndTag is null ? null : new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            [Annotations.ContainerdName] = nameAndTag,
            [Annotations.RefName] = nameAndTag,
        },
    };

    /// <summary>
    /// Adds <paramref name="added"/> to <paramref name="index"/>: a name:tag replaces the entry with that name,
    /// an unnamed image is added once per digest. Entries are kept sorted by name, then digest.
    /// </summary>
    public static ImageIndex Merge(ImageIndex index, IEnumerable<Descriptor> added)
    {
        var list = new List<Descriptor>(index.Manifests);
        foreach (var e in added)
        {
            var name = NameOf(e);
            list.RemoveAll(x => name != null ? NameOf(x) == name : NameOf(x) == null && x.Digest == e.Digest);
            list.Add(e);
        }
        return index with { MediaType = MediaTypes.OciIndex, Manifests = Sorted(list) };
    }

    /// <summary>Sorts entries by name (unnamed last), then digest, ordinally.</summary>
    public static List<Descriptor> Sorted(IEnumerable<Descriptor> entries) =>
        entries.OrderBy(e => NameOf(e) == null ? 1 : 0).ThenBy(e => NameOf(e) ?? "", StringComparer.Ordinal)
            .ThenBy(e => e.Digest, StringComparer.Ordinal).ToList();

    /// <summary>The entries a reference selects: by name:tag, by name@digest, or by a bare digest.</summary>
    public static List<Descriptor> Find(ImageIndex index, ImageReference r) =>
        index.Manifests.Where(e =>
        {
            if (r.Digest is { } d && e.Digest != d.ToString())
                return false;
            if (r.Name is null)
                return true;
            var n = NameOf(e);
            if (n is null || !ImageReference.TryParse(n, out var er, out _) || er!.Name != r.Name)
                return false;
            return r.Tag is null || er.Tag == r.Tag;
        }).ToList();
}
