// Streams a whole disk image: each partition's content at its aligned offset and the partition table; sparse throughout.
using System.IO.Hashing;
using Appliance.ImageBuilder.Disk.Common;
using Appliance.Common.Disk.Gpt;
using Appliance.Common.Disk.Mbr;

namespace Appliance.ImageBuilder.Disk.Image;

/// <summary>
/// Writes a <see cref="DiskImagePlan"/>. Partitions are laid out in order at aligned offsets; content is streamed
/// straight into place (a partition sized to fit its content is measured as it is written); the tables come last, or,
/// when the plan asks for digests, first (the backup GPT last) so the image is hashed in file order as it is written.
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

    /// <summary>
    /// Builds the image into <paramref name="output"/> (seekable, empty or all zeros). With <see cref="DiskImagePlan.Digests"/>
    /// the layout and the tables are made first and the result carries the SHA-256 of the image and of each partition
    /// with content, hashed from the writes.
    /// </summary>
    public static DiskImageResult Build(DiskImagePlan plan, Stream output)
    {
        Validate(plan);
        return plan.Digests ? BuildHashed(plan, output) : BuildFitted(plan, output);
    }

    /// <summary>Partitions first (a partition sized to fit is measured as it is written), the tables last.</summary>
    private static DiskImageResult BuildFitted(DiskImagePlan plan, Stream output)
    {
        long align = plan.Alignment;
        long tail = TableTail(plan);
        long usableEnd = UsableEnd(plan);
        long offset = FirstStart(plan);
        var placed = new List<Placed>();
        var hash = new XxHash128();
        foreach (var spec in plan.Partitions)
        {
            long start = AlignUp(offset, align);
            long? size = SizeOf(spec, placed);
            long capacity = size ?? usableEnd - start;
            CheckFits(plan, spec.Name, start, capacity, usableEnd);
            long used = 0;
            if (spec.Content != null)
                used = WriteContent(spec, output, start, capacity, size != null, window => new WriteTapStream(window, (offset, bytes) => HashWrite(hash, offset, bytes)));
            long final = size ?? Math.Max(align, AlignUp(used, align));
            CheckFits(plan, spec.Name, start, final, usableEnd);
            placed.Add(new Placed(spec, start, final, used));
            offset = start + final;
        }
        long diskSize = plan.Size ?? offset + tail;
        Span<byte> digest = stackalloc byte[16];
        hash.GetCurrentHash(digest);
        var ids = WriteTables(plan, placed, plan.IdentitySeed ?? digest.ToArray(), diskSize, output);
        if (output.Length < diskSize) output.SetLength(diskSize);
        return Result(plan, placed, ids, diskSize, null, null);
    }

    /// <summary>
    /// Every size is known: plan the layout, write the tables before the first partition, each partition's content
    /// in disk order, then the tables after the last (the backup GPT), so the image is hashed in one pass as it is written.
    /// </summary>
    private static DiskImageResult BuildHashed(DiskImagePlan plan, Stream output)
    {
        long usableEnd = UsableEnd(plan);
        long firstStart = FirstStart(plan);
        var layout = new List<Placed>();
        long offset = firstStart;
        foreach (var spec in plan.Partitions)
        {
            long start = AlignUp(offset, plan.Alignment);
            long size = SizeOf(spec, layout)!.Value;
            CheckFits(plan, spec.Name, start, size, usableEnd);
            layout.Add(new Placed(spec, start, size, 0));
            offset = start + size;
        }
        long diskSize = plan.Size ?? offset + TableTail(plan);
        var tables = new WriteLog();
        var ids = WriteTables(plan, layout, plan.IdentitySeed!, diskSize, tables);

        var hashed = layout.Where(p => p.Spec.Content != null).ToList();
        using var hasher = new ImageHasher(hashed.Select(p => (p.Offset, p.Offset + p.Size)).ToList());
        var target = hasher.Wrap(output);
        tables.Replay(target, p => p < firstStart);
        var placed = new List<Placed>();
        foreach (var p in layout)
        {
            // Nothing is written before a partition's start any more, so its content is hashed as it arrives.
            hasher.SealTo(p.Offset);
            long used = p.Spec.Content is null ? 0 : WriteContent(p.Spec, target, p.Offset, p.Size, capacityIsFixed: true);
            placed.Add(p with { Used = used });
            hasher.SealTo(p.Offset + p.Size);
        }
        tables.Replay(target, p => p >= firstStart);
        if (output.Length < diskSize) output.SetLength(diskSize);
        var (image, parts) = hasher.Finish(diskSize);
        var byName = hashed.Select((p, i) => (p.Spec.Name, parts[i])).ToDictionary(x => x.Name, x => x.Item2);
        return Result(plan, placed, ids, diskSize, image, byName);
    }

    private sealed record Placed(PartitionSpec Spec, long Offset, long Size, long Used);

    private sealed record TableIds(Guid? DiskGuid, uint? Signature, IReadOnlyList<(Guid? Id, Guid? Type, byte MbrType)> Partitions);

    private static long TableTail(DiskImagePlan plan) => plan.Table == PartitionTableKind.Gpt ? GptReserve : 0;

    private static long UsableEnd(DiskImagePlan plan) => plan.Size is { } s ? s - TableTail(plan) : long.MaxValue / 2;

    private static long FirstStart(DiskImagePlan plan) =>
        AlignUp(plan.Table == PartitionTableKind.Gpt ? (2 + GptTable.EntryArraySectors) * Sector : Sector, plan.Alignment);

    private static long? SizeOf(PartitionSpec spec, List<Placed> placed) =>
        spec.Size ?? (spec.SameSizeAs is { } other ? placed.First(p => p.Spec.Name == other).Size : null);

    private static void CheckFits(DiskImagePlan plan, string name, long start, long size, long usableEnd)
    {
        if (size <= 0 || start + size > usableEnd)
            throw new InvalidDataException($"partition '{name}' ({size} bytes at offset {start}) does not fit the {plan.Size}-byte disk");
    }

    /// <summary>Writes a partition's content into its window of <paramref name="output"/>; returns the bytes it occupies.</summary>
    private static long WriteContent(PartitionSpec spec, Stream output, long start, long capacity, bool capacityIsFixed, Func<Stream, Stream>? wrap = null)
    {
        Stream window = new OffsetStream(output, start, capacity);
        long used;
        try
        {
            used = spec.Content!.WriteTo(wrap?.Invoke(window) ?? window, new PartitionPlacement(start / Sector, capacity, capacityIsFixed));
        }
        catch (InvalidDataException e)
        {
            throw new PartitionContentException(spec.Name, capacity, e);
        }
        if (used > capacity) throw new InvalidDataException($"partition '{spec.Name}': content of {used} bytes overflows its {capacity} bytes");
        return used;
    }

    private static TableIds WriteTables(DiskImagePlan plan, IReadOnlyList<Placed> placed, byte[] seed, long diskSize, Stream output)
    {
        if (plan.Table == PartitionTableKind.Gpt)
        {
            var diskGuid = DerivedGuid.Create(seed, "gpt-disk");
            var parts = placed.Select((p, i) => new GptPartition(p.Spec.GptType, DerivedGuid.Create(seed, $"gpt-partition:{i + 1}:{p.Spec.Name}"),
                p.Offset / Sector, (p.Offset + p.Size) / Sector - 1, p.Spec.Name)).ToList();
            new GptTable(diskSize / Sector, diskGuid, parts).WriteTo(output);
            return new TableIds(diskGuid, null, parts.Select(p => ((Guid?)p.Id, (Guid?)p.Type, (byte)0)).ToList());
        }
        var signature = DerivedGuid.CreateUInt32(seed, "mbr-disk-signature");
        var mbrParts = placed.Select(p => new MbrPartition(p.Spec.MbrType, checked((uint)(p.Offset / Sector)), checked((uint)(p.Size / Sector)), p.Spec.Bootable)).ToList();
        new MasterBootRecord(signature, mbrParts).WriteTo(output);
        return new TableIds(null, signature, mbrParts.Select(p => ((Guid?)null, (Guid?)null, p.Type)).ToList());
    }

    private static DiskImageResult Result(DiskImagePlan plan, List<Placed> placed, TableIds ids, long diskSize, byte[]? image, Dictionary<string, byte[]>? parts) =>
        new(diskSize, plan.Table, ids.DiskGuid, ids.Signature, placed.Select((p, i) =>
            new PartitionResult(i + 1, p.Spec.Name, p.Offset, p.Size, p.Used, ids.Partitions[i].Id, ids.Partitions[i].Type, ids.Partitions[i].MbrType)
            {
                Sha256 = parts != null && parts.TryGetValue(p.Spec.Name, out var d) ? d : null,
            }).ToList())
        { Sha256 = image };

    private static void Validate(DiskImagePlan plan)
    {
        if (plan.Alignment < Sector || plan.Alignment % Sector != 0) throw new ArgumentException($"alignment {plan.Alignment} is not a positive multiple of 512");
        if (plan.Size is { } s && s % Sector != 0) throw new ArgumentException($"disk size {s} is not a multiple of 512");
        if (plan.Table == PartitionTableKind.Mbr && plan.Partitions.Count > 4) throw new ArgumentException($"{plan.Partitions.Count} partitions: an MBR holds at most 4");
        if (plan.Digests && plan.IdentitySeed is null)
            throw new ArgumentException("a plan with digests needs an IdentitySeed: identifiers derived from the content would come after the tables that carry them");
        if (plan.Digests && plan.Partitions.FirstOrDefault(p => p.Size is null && p.SameSizeAs is null) is { } fitted)
            throw new ArgumentException($"partition '{fitted.Name}' is sized to fit its content, so the tables cannot be written first as a plan with digests needs");
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

    /// <summary>Feeds one write (its offset, then its bytes) into the identifier hash, so identifiers follow from the content.</summary>
    private static void HashWrite(XxHash128 hash, long offset, ReadOnlySpan<byte> bytes)
    {
        Span<byte> pos = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(pos, offset);
        hash.Append(pos);
        hash.Append(bytes);
    }

    /// <summary>Records writes (the partition tables) so they can be replayed in two parts: before and after the partitions.</summary>
    private sealed class WriteLog : Stream
    {
        private readonly List<(long Offset, byte[] Bytes)> _writes = [];
        private long _pos, _length;

        public void Replay(Stream to, Func<long, bool> which)
        {
            foreach (var (offset, bytes) in _writes.Where(w => which(w.Offset)))
            {
                to.Position = offset;
                to.Write(bytes);
            }
        }

        public override bool CanRead => false;
        public override bool CanSeek => true;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _pos; set => _pos = value; }
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _writes.Add((_pos, buffer.ToArray()));
            _pos += buffer.Length;
            _length = Math.Max(_length, _pos);
        }
        public override long Seek(long offset, SeekOrigin origin) =>
            _pos = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => _pos + offset, _ => _length + offset };
        public override void SetLength(long value) => _length = value;
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
