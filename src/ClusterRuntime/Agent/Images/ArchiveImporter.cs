// Imports one archive into containerd: blobs streamed under a lease, GC labels, then image records (the GC roots).
using Appliance.ClusterRuntime.Agent.Images.Api;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Appliance.ClusterRuntime.Agent.Images;

/// <summary>Imports image archives through containerd's content, images and leases services.</summary>
internal sealed class ArchiveImporter(ContainerdConnection containerd)
{
    /// <summary>Label set on every image record the importer creates; the agent's image GC never removes such an image.</summary>
    public const string PreloadedLabel = "appliance.io/preloaded";

    /// <summary>Label naming the archive file an image record came from.</summary>
    public const string ArchiveLabel = "appliance.io/preloaded-archive";

    /// <summary>
    /// Imports <paramref name="path"/> and returns the images it named (normalized) with their target digests.
    /// Nothing is named unless every blob arrived and verified; on failure the lease goes and containerd's GC
    /// removes what was written.
    /// </summary>
    /// <exception cref="InvalidDataException">The archive is malformed (the message says what and where, not which file).</exception>
    public async Task<ImportedArchive> ImportAsync(string path, CancellationToken ct)
    {
        var lease = await containerd.CreateLeaseAsync(TimeSpan.FromHours(1), ct);
        try
        {
            var writer = new ContentWriter(containerd, lease);
            ArchiveContents contents;
            await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
            await using (var tar = ArchiveStream.Open(file, path))
                contents = await ArchiveContents.ReadAsync(tar, writer, ct);

            var labels = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
            List<ImageTarget> targets;
            if (contents.Json.ContainsKey("index.json"))
                targets = OciLayoutImages.Read(contents, labels);
            else if (contents.Json.ContainsKey("manifest.json"))
            {
                (var manifests, targets) = DockerSaveImages.Read(contents, labels);
                foreach (var (digest, bytes) in manifests)
                    if (!await writer.ExistsAsync(digest, ct))
                        await writer.WriteAsync(bytes, Stream.Null, bytes.Length, digest, null, ct);
            }
            else
                throw new InvalidDataException("neither index.json (OCI image layout) nor manifest.json (docker save) is in the archive");

            foreach (var (digest, l) in labels)
                await writer.SetLabelsAsync(digest, l, ct);

            var images = new List<ImportedImage>();
            foreach (var t in targets)
            {
                string name;
                try { name = ImageName.Normalize(t.Name); }
                catch (FormatException e) { throw new InvalidDataException(e.Message, e); }
                await PutImageAsync(name, t.Target, Path.GetFileName(path), ct);
                images.Add(new ImportedImage(name, t.Target.Digest));
            }
            return new ImportedArchive(images, contents.BytesWritten, contents.Reused);
        }
        finally
        {
            await containerd.DeleteLeaseAsync(lease, CancellationToken.None);
        }
    }

    private async Task PutImageAsync(string name, OciDescriptor target, string archive, CancellationToken ct)
    {
        var image = new Image { Name = name, Target = target };
        image.Labels[PreloadedLabel] = "true";
        image.Labels[ArchiveLabel] = archive;
        try
        {
            await containerd.Images.CreateAsync(new CreateImageRequest { Image = image }, containerd.Call(ct));
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
        {
            var mask = new FieldMask();
            mask.Paths.Add("target");
            mask.Paths.Add("labels." + PreloadedLabel);
            mask.Paths.Add("labels." + ArchiveLabel);
            await containerd.Images.UpdateAsync(new UpdateImageRequest { Image = image, UpdateMask = mask }, containerd.Call(ct));
        }
    }
}

/// <summary>An image record an import created or updated.</summary>
/// <param name="Name">Normalized name (what CRI looks it up by).</param>
/// <param name="Digest">Digest of its target (manifest or index).</param>
public sealed record ImportedImage(string Name, string Digest);

/// <summary>What one archive import produced.</summary>
/// <param name="Images">The image records.</param>
/// <param name="BytesWritten">Blob bytes streamed to containerd.</param>
/// <param name="BlobsReused">Blobs containerd already held.</param>
public sealed record ImportedArchive(IReadOnlyList<ImportedImage> Images, long BytesWritten, int BlobsReused);
