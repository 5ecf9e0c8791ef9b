// Checks every entry of a layer tar as it streams by: paths, link targets, device files, and the unpacked size.
using System.Formats.Tar;
using System.IO.Compression;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Store.Sources;

namespace Appliance.ImageBuilder.Store.Import;

/// <summary>What a layer scan found.</summary>
/// <param name="DiffId">sha256 of the uncompressed tar (the config's rootfs.diff_ids entry).</param>
/// <param name="UnpackedSize">Bytes of the uncompressed tar.</param>
/// <param name="Entries">Number of tar entries.</param>
public sealed record LayerScan(Digest? DiffId, long UnpackedSize, int Entries);

/// <summary>
/// Refuses layers a careless unpacker would turn against the host: absolute paths or "..", relative symlinks that
/// climb above the image root (absolute symlink targets are resolved inside the image, as runtimes do), hard links
/// to absolute paths or "..", device nodes unless allowed, unknown entry types, and unpacked sizes past the limit.
/// </summary>
internal static class LayerScanner
{
    /// <summary>Decompresses <paramref name="blob"/> and checks every entry; hashes the tar when <paramref name="hashTar"/>.</summary>
    public static LayerScan Scan(Stream blob, LayerCompression compression, bool hashTar, ImportOptions options, string where)
    {
        Stream unpacked = compression switch
        {
            LayerCompression.Gzip => new GZipStream(blob, CompressionMode.Decompress, leaveOpen: true),
            LayerCompression.Zstd => new ZstdSharp.DecompressionStream(blob, leaveOpen: true),
            _ => blob,
        };
        using var counted = new DigestingStream(unpacked, hashTar, options.MaxLayerSize,
            () => LayerLimit.Exceeded($"{where}: unpacks to more than {options.MaxLayerSize} bytes (the layer size limit; a decompression bomb?)"));
        int entries = 0;
        string last = "(start of layer)";
        try
        {
            using var reader = new TarReader(counted, leaveOpen: true);
            while (true)
            {
                TarEntry? e;
                try
                {
                    e = reader.GetNextEntry(copyData: false);
                }
                catch (Exception ex) when (!LayerLimit.Is(ex))
                {
                    throw new InvalidDataException($"{where}: corrupt or truncated tar after entry '{last}' ({ex.Message})", ex);
                }
                if (e is null)
                    break;
                last = e.Name;
                entries++;
                Check(e, options, where);
            }
            try
            {
                counted.Drain();
            }
            catch (Exception ex) when (!LayerLimit.Is(ex))
            {
                throw new InvalidDataException($"{where}: corrupt or truncated data after the end of the tar ({ex.Message})", ex);
            }
        }
        finally
        {
            if (!ReferenceEquals(unpacked, blob))
                unpacked.Dispose();
        }
        return new LayerScan(counted.Finish(), counted.Count, entries);
    }

    private static void Check(TarEntry e, ImportOptions options, string where)
    {
        var at = $"{where}: entry '{e.Name}'";
        string name;
        try
        {
            name = EntryName.Normalize(e.Name, where);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{ex.Message}; a layer's paths must stay inside the image root", ex);
        }
        switch (e.EntryType)
        {
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile
                or TarEntryType.Directory or TarEntryType.Fifo or TarEntryType.GlobalExtendedAttributes:
                break;
            case TarEntryType.SymbolicLink:
                if (!e.LinkName.StartsWith('/') && Escapes(name, e.LinkName))
                    throw new InvalidDataException($"{at}: symbolic link to '{e.LinkName}' points outside the image root");
                break;
            case TarEntryType.HardLink:
                if (e.LinkName.StartsWith('/') || e.LinkName.Split('/').Contains(".."))
                    throw new InvalidDataException($"{at}: hard link to '{e.LinkName}' points outside the image root");
                if (e.LinkName.Length == 0)
                    throw new InvalidDataException($"{at}: hard link has no target");
                break;
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                if (!options.AllowDevices)
                    throw new InvalidDataException($"{at}: is a {(e.EntryType == TarEntryType.BlockDevice ? "block" : "character")} device{(e is PosixTarEntry p ? $" ({p.DeviceMajor},{p.DeviceMinor})" : "")}; device files are not allowed in application images (use --allow-devices for an OS base image)");
                break;
            default:
                throw new InvalidDataException($"{at}: unsupported tar entry type {e.EntryType}");
        }
    }

    /// <summary>True when a relative symlink target, read from the link's own directory, climbs above the root.</summary>
    private static bool Escapes(string linkPath, string target)
    {
        var depth = linkPath.Split('/').Length - 1;
        foreach (var p in target.Split('/'))
        {
            if (p is "" or ".")
                continue;
            depth += p == ".." ? -1 : 1;
            if (depth < 0)
                return true;
        }
        return false;
    }
}
