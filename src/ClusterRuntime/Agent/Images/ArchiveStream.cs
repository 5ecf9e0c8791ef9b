// Opens an image archive as a tar stream: plain, gzip or zstd, recognised by its first bytes rather than its name.
using System.IO.Compression;
using ZstdSharp;

namespace Appliance.ClusterRuntime.Agent.Images;

/// <summary>The archive file names the importer picks up, and how their bytes are decompressed.</summary>
internal static class ArchiveStream
{
    /// <summary>File name endings of image archives.</summary>
    public static readonly string[] Extensions = [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.zstd"];

    /// <summary>Whether <paramref name="path"/> is named like an image archive.</summary>
    public static bool IsArchiveName(string path) =>
        Extensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The decompressed tar bytes of <paramref name="file"/> (gzip magic 1f 8b, zstd magic 28 b5 2f fd, else plain tar).
    /// The returned stream owns <paramref name="file"/>.
    /// </summary>
    public static Stream Open(Stream file)
    {
        Span<byte> magic = stackalloc byte[4];
        int n = file.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        file.Position = 0;
        if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
            return new GZipStream(file, CompressionMode.Decompress);
        if (n >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
            return new DecompressionStream(file);
        return file;
    }

    /// <summary>The kind of a layer blob from its first bytes, for the media type of a synthesized manifest.</summary>
    public static string Compression(ReadOnlySpan<byte> head) =>
        head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b ? "gzip"
        : head.Length >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd ? "zstd"
        : "";
}
