// Settings of the SquashFS writer.
namespace Appliance.ImageBuilder.Disk.SquashFs;

/// <summary>How <see cref="SquashFsBuilder"/> writes an image.</summary>
public sealed class SquashFsOptions
{
    /// <summary>
    /// The default zstd level. mksquashfs uses 15; ZstdSharp is managed code, and at 15 it needs about 15 % more CPU than
    /// native libzstd. Level 14 (the same btopt strategy, minimum match 3) measured 0.6 % larger output with 5–15 % less
    /// CPU than mksquashfs -comp zstd on a /usr/lib + /usr/share sample; on all of /usr/lib/x86_64-linux-gnu + /usr/share
    /// (2.8 GB) it gave size ratio 1.002 and CPU ratio 0.84 (bench/disk/run.sh), so it meets both targets.
    /// </summary>
    public const int DefaultZstdLevel = 14;

    /// <summary>The compressor (zstd unless told otherwise).</summary>
    public SquashFsCompression Compression { get; init; } = SquashFsCompression.Zstd;

    /// <summary>The compression level; null means <see cref="DefaultZstdLevel"/> for zstd and 9 for gzip.</summary>
    public int? CompressionLevel { get; init; }

    /// <summary>The data block size: a power of two from 4 KiB to 1 MiB (default 128 KiB).</summary>
    public int BlockSize { get; init; } = 128 * 1024;

    /// <summary>Store identical files once (default true).</summary>
    public bool Deduplicate { get; init; } = true;

    /// <summary>Pack file tails and small files into shared fragment blocks (default true).</summary>
    public bool Fragments { get; init; } = true;

    /// <summary>The superblock time; null means the newest modification time in the tree.</summary>
    public long? ModificationTime { get; init; }

    /// <summary>How many blocks may be compressed at once; defaults to the processor count.</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    internal int EffectiveLevel => CompressionLevel ?? (Compression == SquashFsCompression.Zstd ? DefaultZstdLevel : 9);

    internal void Validate()
    {
        if (BlockSize < 4096 || BlockSize > 1 << 20 || (BlockSize & (BlockSize - 1)) != 0)
            throw new ArgumentException($"squashfs block size {BlockSize} is not a power of two between 4096 and 1048576");
        if (!Enum.IsDefined(Compression)) throw new ArgumentException($"unsupported squashfs compression {Compression}");
    }
}
