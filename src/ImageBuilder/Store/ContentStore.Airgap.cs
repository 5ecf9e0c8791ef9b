// Builds the airgap archive for one platform from store references (what `appliance build` preloads).
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Oci.Archive;

namespace Appliance.ImageBuilder.Store;

public sealed partial class ContentStore
{
    /// <summary>
    /// Resolves each reference for <paramref name="platform"/> and writes them all into one oci-archive that
    /// containerd imports. A multi-arch image missing the platform fails with the list of platforms it has.
    /// </summary>
    public ImageIndex WriteAirgapArchive(IEnumerable<string> references, Platform platform, string outputPath, DateTimeOffset timestamp)
    {
        var images = new List<AirgapImage>();
        foreach (var r in references)
        {
            var resolved = Resolve(r, platform);
            var name = resolved.Name ?? ImageReference.Parse(r).NameAndTag
                ?? throw new UserInputException($"image '{r}' has no name:tag to import it under");
            images.Add(new AirgapImage(name, resolved.Manifest, resolved.ManifestDocument.Config!, resolved.Layers));
        }
        return new AirgapArchiveWriter(this, timestamp).Write(outputPath, images);
    }
}
