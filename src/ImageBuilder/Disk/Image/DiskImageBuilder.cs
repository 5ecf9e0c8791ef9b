// Streams a whole disk image: each partition's content at its aligned offset, then the partition table; sparse throughout.
using System.IO.Hashing;
using Appliance.ImageBuilder.Disk.Common;
using Appliance.ImageBuilder.Disk.Gpt;
using Appliance.ImageBuilder.Disk.Mbr;

namespace Appliance.ImageBuilder.Disk.Image;

/// <summary>
/// Writes a <see cref="DiskImagePlan"/>. Partitions are laid out in order at aligned offsets; content is streamed
/// straight into place (a partition sized to fit its content is measured as it is written); the tables come last.
/// Unused space is never written, so a 4 GiB image holding 1 GiB takes about 1 GiB on the host.
/// </summary>
public static class DiskImageBuilder
{
    private const int Sector = 512;
    private const long GptReserve = (GptTable.EntryArraySectors + 1) * Sector;

    /// <summary>Builds the image into a new sparse file via a temporary file and rename.</summary>
    /// <param name="plan">The partitions and their content.</param>
    /// <param name="path">The output file.</param>
    /// <param name="durable">Write around the page cache and fsync before the rename (the default).</param>
    public static DiskImageResult Build(DiskImagePlan plan, string path, bool durable = true) =>
        ImageFileStream.WriteFile(path, durable, output => Build(plan, output));

    /// <summary>Builds the image into <paramref name="output"/> (seekable, empty or all zeros).</summary>
    public static DiskImageResult Build(DiskImagePlan plan, Stream output)
    {
        Validate(plan);
        long align = plan.Alignment;
        long tail = plan.Table == PartitionTableKind.Gpt ? GptReserve : 0;
        long usableEnd = plan.Size is { } s ? s - tail : long.MaxValue / 2;
        long offset = AlignUp(plan.Table == PartitionTableKind.Gpt ? (2 + GptTable.EntryArraySectors) * Sector : Sector, align);
        var placed = new List<(PartitionSpec Spec, long Offset, long Size, long Used)>();
        var hash = new XxHash128();
        foreach (var spec in plan.Partitions)
        {
            long start = AlignUp(offset, align);
            long? size = spec.Size ?? (spec.SameSizeAs is { } other ? placed.First(p => p.Spec.Name == other).Size : null);
            long capacity = size ?? usableEnd - start;
            if (capacity <= 0 || start + capacity > usableEnd)
                throw new InvalidDataException($"partition '{spec.Name}' ({capacity} bytes at offset {start}) does not fit the {plan.Size}-byte disk");
            long used = 0;
            if (spec.Content != null)
            {
                var window = new HashingStream(new OffsetStream(output, start, capacity), hash);
                used = spec.Content.WriteTo(window, new PartitionPlacement(start / Sector, capacity, size != null));
                if (used > capacity) throw new InvalidDataException($"partition '{spec.Name}': content of {used} bytes overflows its {capacity} bytes");
            }
            long final = size ?? Math.Max(align, AlignUp(used, align));
            if (start + final > usableEnd) throw new InvalidDataException($"partition '{spec.Name}' ({final} bytes at offset {start}) does not fit the {plan.Size}-byte disk");
            placed.Add((spec, start, final, used));
            offset = start + final;
        }
        long diskSize = plan.Size ?? AlignUp(offset + tail, align);
        Span<byte> digest = stackalloc byte[16];
        hash.GetCurrentHash(digest);
        byte[] seed = plan.IdentitySeed ?? digest.ToArray();

        var results = new List<PartitionResult>();
        Guid? diskGuid = null;
        uint? signature = null;
        if (plan.Table == PartitionTableKind.Gpt)
        {
            diskGuid = DerivedGuid.Create(seed, "gpt-disk");
            var parts = placed.Select((p, i) => new GptPartition(p.Spec.GptType, DerivedGuid.Create(seed, $"gpt-partition:{i + 1}:{p.Spec.Name}"),
                p.Offset / Sector, (p.Offset + p.Size) / Sector - 1, p.Spec.Name)).ToList();
            new GptTable(diskSize / Sector, diskGuid.Value, parts).WriteTo(output);
            for (int i = 0; i < placed.Count; i++)
                results.Add(new PartitionResult(i + 1, placed[i].Spec.Name, placed[i].Offset, placed[i].Size, placed[i].Used, parts[i].Id, parts[i].Type, 0));
        }
        else
        {
            signature = DerivedGuid.CreateUInt32(seed, "mbr-disk-signature");
            var parts = placed.Select(p => new MbrPartition(p.Spec.MbrType, checked((uint)(p.Offset / Sector)), checked((uint)(p.Size / Sector)), p.Spec.Bootable)).ToList();
            new MasterBootRecord(signature.Value, parts).WriteTo(output);
            for (int i = 0; i < placed.Count; i++)
                results.Add(new PartitionResult(i + 1, placed[i].Spec.Name, placed[i].Offset, placed[i].Size, placed[i].Used, null, null, parts[i].Type));
        }
        if (output.Length < diskSize) output.SetLength(diskSize);
        return new DiskImageResult(diskSize, plan.Table, diskGuid, signature, results);
    }

    private static void Validate(DiskImagePlan plan)
    {
        if (plan.Alignment < Sector || plan.Alignment % Sector != 0) throw new ArgumentException($"alignment {plan.Alignment} is not a positive multiple of 512");
        if (plan.Size is { } s && s % Sector != 0) throw new ArgumentException($"disk size {s} is not a multiple of 512");
        if (plan.Table == PartitionTableKind.Mbr && plan.Partitions.Count > 4) throw new ArgumentException($"{plan.Partitions.Count} partitions: an MBR holds at most 4");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in plan.Partitions)
        {
            if (!names.Add(p.Name)) throw new ArgumentException($"partition name '{p.Name}' is used twice");
            if (p.Size is { } z && (z <= 0 || z % Sector != 0)) throw new ArgumentException($"partition '{p.Name}': size {z} is not a positive multiple of 512");
            if (p.SameSizeAs != null && !names.Contains(p.SameSizeAs))
                throw new ArgumentException($"partition '{p.Name}': SameSizeAs '{p.SameSizeAs}' does not name an earlier partition");
        }
    }

    private static long AlignUp(long v, long a) => (v + a - 1) / a * a;

    /// <summary>Feeds every write (with its offset) into a hash, so identifiers can follow from the content.</summary>
    private sealed class HashingStream(Stream inner, XxHash128 hash) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => true;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Span<byte> pos = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(pos, inner.Position);
            hash.Append(pos);
            hash.Append(buffer);
            inner.Write(buffer);
        }
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => inner.SetLength(value);
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
