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
    /// <exception cref="InvalidDataException">The name promises a compression the bytes do not have.</exception>
    public static Stream Open(Stream file, string name)
    {
        Span<byte> magic = stackalloc byte[4];
        int n = file.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        file.Position = 0;
        var kind = Compression(magic[..n]);
        if (name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase))
        {
            if (kind != "gzip")
                throw new InvalidDataException("named as gzip-compressed, but it does not start with the gzip magic 1f 8b");
        }
        else if (name.EndsWith(".zst", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".zstd", StringComparison.OrdinalIgnoreCase))
        {
            if (kind != "zstd")
                throw new InvalidDataException("named as zstd-compressed, but it does not start with the zstd magic 28 b5 2f fd");
        }
        return kind switch
        {
            "gzip" => new GZipStream(file, CompressionMode.Decompress),
            "zstd" => new DecompressionStream(file),
            _ => file,
        };
    }

    /// <summary>The kind of a layer blob from its first bytes, for the media type of a synthesized manifest.</summary>
    public static string Compression(ReadOnlySpan<byte> head) =>
        head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b ? "gzip"
        : head.Length >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd ? "zstd"
        : "";
}
