// Flattens a resolved image from the store (what the OS-image step of a build consumes).
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Oci.Flatten;

namespace Appliance.ImageBuilder.Store;

public sealed partial class ContentStore
{
    /// <summary>
    /// Flattens <paramref name="image"/>'s layers. File contents point into this store's blobs (plain layers) or a
    /// spool file in <paramref name="spoolDirectory"/> (compressed layers): keep the store in place while the tree is used.
    /// </summary>
    public FlatTree Flatten(ResolvedImage image, string spoolDirectory)
    {
        var layers = image.Layers.Select(l =>
        {
            var d = l.ParsedDigest("layer");
            var c = MediaTypes.LayerCompressionOf(l.MediaType)
                ?? throw new InvalidDataException($"image {image.Name}: layer {d} has unknown media type '{l.MediaType}'");
            if (!HasBlob(d))
                throw new InvalidDataException($"{Root}: blob {d} (layer of {image.Name}) is missing from the store");
            return new FlattenLayer(BlobPath(d), c, d.ToString());
        }).ToList();
        return LayerFlattener.Flatten(layers, spoolDirectory);
    }
}
