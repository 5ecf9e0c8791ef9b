// SquashFS compressors (ids per squashfs_fs.h): zstd via ZstdSharp and gzip (a zlib stream) via System.IO.Compression.
using System.IO.Compression;
using ZstdSharp;

namespace Appliance.ImageBuilder.Disk.SquashFs;

/// <summary>Compression algorithm ids of the SquashFS superblock.</summary>
public enum SquashFsCompression : ushort
{
    /// <summary>zlib (called gzip by squashfs-tools).</summary>
    Gzip = 1,
    /// <summary>Zstandard.</summary>
    Zstd = 6,
}

/// <summary>Compresses and decompresses blocks; safe to use from many threads (one codec context per thread).</summary>
internal sealed class BlockCodec(SquashFsCompression algorithm, int level)
{
    private readonly ThreadLocal<Compressor?> _zstd = new(() => algorithm == SquashFsCompression.Zstd ? CreateZstd(level) : null, trackAllValues: false);

    private readonly ThreadLocal<Decompressor?> _unzstd = new(() => algorithm == SquashFsCompression.Zstd ? new Decompressor() : null, trackAllValues: false);

    private readonly ThreadLocal<Compressor?> _probe = new(() => algorithm == SquashFsCompression.Zstd && level > ProbeLevel ? new Compressor(ProbeLevel) : null, trackAllValues: false);

    /// <summary>
    /// Blocks that the fastest zstd level cannot shrink by 1.5 % (already-compressed data: .gz, .png, firmware, random)
    /// are stored uncompressed without the expensive high-level attempt, which would gain at most a few bytes.
    /// </summary>
    private const int ProbeLevel = 1;
    private const double IncompressibleRatio = 0.985;

    private static Compressor CreateZstd(int level) => new(level);

    public SquashFsCompression Algorithm => algorithm;

    /// <summary>Compresses <paramref name="src"/> into <paramref name="dst"/>; returns the size, or -1 if it would not be smaller.</summary>
    public int Compress(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        int limit = Math.Min(dst.Length, src.Length - 1);
        if (limit <= 0) return -1;
        if (algorithm == SquashFsCompression.Zstd)
        {
            if (_probe.Value is { } probe && src.Length >= 4096)
            {
                int probeLimit = (int)(src.Length * IncompressibleRatio);
                if (probeLimit <= dst.Length && !probe.TryWrap(src, dst[..probeLimit], out _)) return -1;
            }
            return _zstd.Value!.TryWrap(src, dst[..limit], out int written) ? written : -1;
        }
        var ms = new MemoryStream(src.Length);
        using (var z = new ZLibStream(ms, level >= 9 ? CompressionLevel.SmallestSize : CompressionLevel.Optimal, leaveOpen: true))
            z.Write(src);
        if (ms.Length > limit) return -1;
        ms.GetBuffer().AsSpan(0, (int)ms.Length).CopyTo(dst);
        return (int)ms.Length;
    }

    /// <summary>Decompresses <paramref name="src"/> into <paramref name="dst"/>; returns the size.</summary>
    public int Decompress(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        if (algorithm == SquashFsCompression.Zstd)
            return _unzstd.Value!.Unwrap(src, dst);
        using var z = new ZLibStream(new MemoryStream(src.ToArray()), CompressionMode.Decompress);
        int total = 0;
        while (total < dst.Length)
        {
            int n = z.Read(dst[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
