// Build step 5: the outputs written: NAME.img (hashed as written), NAME.manifest.json, NAME.cdx.json and the bundles.
using System.Security.Cryptography;
using System.Text.Json;
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Disk.Common;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Signing.Keys;

namespace Appliance.ImageBuilder.Build;

/// <summary>Where a build's outputs go: <c>NAME.img</c>, <c>NAME.manifest.json</c>, <c>NAME.cdx.json</c>, each with its bundle.</summary>
/// <param name="Name">The site name (<c>metadata.name</c>).</param>
/// <param name="Image">The disk image.</param>
/// <param name="Manifest">The build manifest.</param>
/// <param name="Sbom">The SBOM.</param>
public sealed record ImageOutputs(string Name, string Image, string Manifest, string Sbom)
{
    /// <summary>The outputs of site <paramref name="name"/> in <paramref name="directory"/>.</summary>
    public static ImageOutputs In(string directory, string name) =>
        new(name, Path.Combine(directory, name + ".img"), Path.Combine(directory, name + ".manifest.json"), Path.Combine(directory, name + ".cdx.json"));

    /// <summary>The three outputs, in signing order.</summary>
    public IReadOnlyList<string> All => [Image, Manifest, Sbom];

    /// <summary>The ISO of a <c>target.format: iso</c> build (written by <see cref="IsoImage"/> after the raw outputs).</summary>
    public string Iso => Path.Combine(Path.GetDirectoryName(Image)!, Name + ".iso");

    /// <summary>The admin kubeconfig of a server site with a cluster PKI (not signed: it is a secret, kept 0600).</summary>
    public string Kubeconfig => Path.Combine(Path.GetDirectoryName(Image)!, Name + ".kubeconfig");

    /// <summary>
    /// Writes the image (temporary file + rename; the image and every partition with content are hashed as they are
    /// written), then the manifest, the SBOM and, with <paramref name="key"/>, a bundle for each, signed from those
    /// digests without reading the files again. A <c>kubeconfig</c> (content) is written as <see cref="Kubeconfig"/>; without
    /// one, an earlier build's is removed, and so is an earlier build's <see cref="Iso"/> (the ISO step writes it again). From the rename of the new image until this returns, an interrupt or a
    /// failure removes every output (the earlier build's manifest, SBOM and bundles no longer match the new image).
    /// </summary>
    public BuildResult Write(DiskLayout layout, RootManifest root, BuildFacts facts, SigningKey? key, Board board, string profileFile, Action<string> progress,
        string? kubeconfig = null)
    {
        string imageName = Path.GetFileName(Image);
        DiskImageResult disk;
        IDisposable unfinished;
        try
        {
            disk = ImageFileStream.WriteFile(Image, durable: true, output => DiskImageBuilder.Build(layout.Plan, output),
                [Manifest, Sbom, Kubeconfig, Iso, BuildAttestation.BundlePath(Iso), .. All.Select(BuildAttestation.BundlePath)], out unfinished);
        }
        catch (PartitionContentException e) when (e.Partition == "boot")
        {
            throw new UserInputException($"{profileFile}: the boot files of board {board.Name} do not go on its " +
                $"{e.Capacity >> 20} MiB FAT32 boot partition: {e.Reason}");
        }

        try
        {
            foreach (var o in All)
                File.Delete(BuildAttestation.BundlePath(o));
            File.Delete(Kubeconfig);
            File.Delete(Iso);
            File.Delete(BuildAttestation.BundlePath(Iso));
            var manifest = new BuildManifest
            {
                Name = Name, Image = imageName, Size = disk.Size, MinimumDiskSize = layout.MinimumDiskSize,
                PartitionTable = disk.Table == PartitionTableKind.Gpt ? "gpt" : "mbr",
                Partitions = disk.Partitions.Select(p => new PartitionEntry(p.Number, p.Name, p.Offset, p.Size, p.ContentBytes,
                    p.Sha256 is { } d ? Convert.ToHexStringLower(d) : null)).ToList(),
                SiteConfigSha256 = Convert.ToHexStringLower(SHA256.HashData(layout.SiteYaml)),
                Root = root,
            };
            byte[] manifestBytes = [.. JsonSerializer.SerializeToUtf8Bytes(manifest, BuildManifest.Json), (byte)'\n'];
            AtomicFile.Write(Manifest, manifestBytes);
            var sbom = BuildAttestation.Sbom(imageName, facts);
            BuildAttestation.WriteFile(Sbom, sbom);
            progress($"wrote {Image}, {Path.GetFileName(Manifest)} and {Path.GetFileName(Sbom)} ({facts.Packages.Count} packages, {root.Images.Count} images)");
            if (kubeconfig is not null)
            {
                Appliance.Common.Pki.Kubeconfig.Write(Kubeconfig, kubeconfig);
                progress($"wrote {Path.GetFileName(Kubeconfig)} (admin credentials of the cluster PKI, mode 0600)");
            }
            IReadOnlyList<string> bundles = [];
            if (key != null)
            {
                bundles = BuildAttestation.Sign(key, BuildAttestation.Provenance(facts, Path.GetFileName(Sbom), sbom),
                    [(Image, disk.Sha256!), (Manifest, SHA256.HashData(manifestBytes)), (Sbom, SHA256.HashData(sbom))]);
                progress($"signed {string.Join(", ", All.Select(Path.GetFileName))} with key {key.Id}");
            }
            return new BuildResult(Image, Manifest, manifest, Sbom, bundles)
            {
                ImageSha256 = disk.Sha256!, KubeconfigPath = kubeconfig is null ? null : Kubeconfig, Disk = disk,
            };
        }
        catch
        {
            DeleteAll();
            throw;
        }
        finally
        {
            unfinished.Dispose();
        }
    }

    /// <summary>Removes every output of a build that failed (best effort: a failing delete must not replace the error that stopped it).</summary>
    public void DeleteAll()
    {
        foreach (var o in (IEnumerable<string>)[.. All, Iso])
            foreach (var path in new[] { o, BuildAttestation.BundlePath(o), Kubeconfig })
            {
                try { File.Delete(path); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
    }
}
