// First-boot step 1, the table: root-b (as large as root-a) and data (to the end of the disk) added after root-a.
using Appliance.Common;
using Appliance.Common.Disk.Gpt;
using Appliance.Common.Disk.Mbr;

namespace Appliance.Firstboot.Disks;

/// <summary>Where a partition is on the disk.</summary>
public sealed record PartitionPlace(int Number, long StartBytes, long LengthBytes);

/// <summary>The disk's layout after <see cref="DataPartitioner.Ensure"/>.</summary>
/// <param name="Table">gpt or mbr.</param>
/// <param name="RootB">The second root slot.</param>
/// <param name="Data">The data partition.</param>
/// <param name="Changed">Whether the table was written this time.</param>
/// <param name="Identity">Bytes that identify the disk (GPT disk GUID or MBR signature): seeds the file system UUID.</param>
public sealed record DiskLayoutState(string Table, PartitionPlace RootB, PartitionPlace Data, bool Changed, byte[] Identity);

/// <summary>The disk is smaller than the site's <c>target.diskSize</c>.</summary>
public sealed class DiskTooSmallException(string message) : Exception(message);

/// <summary>
/// Adds root-b and data in the free space after root-a, keeping every existing partition and its data. The image
/// may end after root-a (the table then records a disk as large as the image: the backup GPT is moved to the disk's
/// real end first, as <c>sgdisk -e</c> does) or still carry root-b (kept). The table is computed from what is on
/// the disk, so running it again after a cut at any point gives the same table; a table already complete is not
/// written again.
/// </summary>
public static class DataPartitioner
{
    /// <summary>Partitions start on 1 MiB boundaries, as the image's do.</summary>
    public const long Alignment = 1 << 20;

    private const int Sector = 512;

    /// <summary>Makes sure root-b and data exist on <paramref name="disk"/> (a block device or, for tests, a file).</summary>
    /// <exception cref="DiskTooSmallException">The disk is smaller than <paramref name="minimumBytes"/>.</exception>
    /// <exception cref="InvalidDataException">No partition table, or no root-a.</exception>
    public static DiskLayoutState Ensure(string disk, long diskBytes, long? minimumBytes, Action<string>? stopPoint = null)
    {
        if (minimumBytes is { } min && diskBytes < min)
            throw new DiskTooSmallException(
                $"the disk {disk} is {Size(diskBytes)}, smaller than the {Size(min)} this site needs (target.diskSize); use a larger disk");
        using var stream = new FileStream(disk, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
        var lba1 = new byte[Sector];
        stream.Position = Sector;
        stream.ReadExactly(lba1);
        var state = "EFI PART"u8.SequenceEqual(lba1.AsSpan(0, 8))
            ? EnsureGpt(stream, disk, diskBytes / Sector, stopPoint)
            : EnsureMbr(stream, disk, diskBytes / Sector, stopPoint);
        stream.Flush(flushToDisk: true);
        return state;
    }

    private static DiskLayoutState EnsureGpt(FileStream stream, string disk, long sectors, Action<string>? stopPoint)
    {
        var table = GptTable.Read(stream, sectors);
        var parts = table.Partitions.ToList();
        var rootA = parts.FirstOrDefault(p => p.Name == "root-a")
            ?? throw new InvalidDataException($"{disk}: the GPT has no partition named root-a");
        var seed = table.DiskGuid.ToByteArray();
        var rootB = parts.FirstOrDefault(p => p.Name == "root-b");
        if (rootB is null)
        {
            long first = AlignUp(rootA.LastLba + 1);
            rootB = new GptPartition(GptPartitionTypes.LinuxFilesystem, DerivedGuid.Create(seed, "partition-root-b"),
                first, first + (rootA.LastLba - rootA.FirstLba), "root-b");
            parts.Add(rootB);
        }
        long lastUsable = sectors - 2 - GptTable.EntryArraySectors;
        var data = parts.FirstOrDefault(p => p.Name == "data");
        if (data is null)
        {
            long first = AlignUp(Math.Max(rootB.LastLba, parts.Max(p => p.LastLba)) + 1);
            if (first + Alignment / Sector > lastUsable)
                throw new DiskTooSmallException($"the disk {disk} has no room for a data partition after root-b (it ends at LBA {rootB.LastLba} of {sectors})");
            data = new GptPartition(GptPartitionTypes.LinuxFilesystem, DerivedGuid.Create(seed, "partition-data"), first, lastUsable, "data");
            parts.Add(data);
        }
        if (rootB.LastLba > lastUsable)
            throw new DiskTooSmallException($"the disk {disk} ({Size(sectors * Sector)}) ends before root-b does");
        bool changed = parts.Count != table.Partitions.Count || table.RecordedBackupLba != sectors - 1 || table.DiskSectors != sectors;
        if (changed)
        {
            var updated = new GptTable(sectors, table.DiskGuid, parts);
            updated.WriteTo(stream);
            stream.Flush(flushToDisk: true);
            stopPoint?.Invoke("partition:table-written");
            // The image's own backup header, now stale and inside the new partitions, is cleared so no tool mistakes it.
            if (table.RecordedBackupLba is { } old && old < sectors - 1 && old > data.FirstLba - GptTable.EntryArraySectors - 1 && old <= lastUsable)
            {
                stream.Position = (old - GptTable.EntryArraySectors) * Sector;
                stream.Write(new byte[(GptTable.EntryArraySectors + 1) * Sector]);
            }
        }
        int Number(GptPartition p) => parts.IndexOf(p) + 1;
        return new DiskLayoutState("gpt", Place(Number(rootB), rootB.FirstLba, rootB.LastLba), Place(Number(data), data.FirstLba, data.LastLba), changed, seed);
    }

    private static DiskLayoutState EnsureMbr(FileStream stream, string disk, long sectors, Action<string>? stopPoint)
    {
        var raw = new byte[MasterBootRecord.Size];
        stream.Position = 0;
        stream.ReadExactly(raw);
        var mbr = MasterBootRecord.Read(raw);
        // The records are kept in their slots: slot 1 boot, 2 root-a, 3 root-b, 4 data (what the Pi image writes).
        var slots = new MbrPartition?[4];
        ReadSlots(raw, slots);
        var rootA = slots[1] ?? throw new InvalidDataException($"{disk}: the MBR has no partition 2 (root-a)");
        long diskEnd = Math.Min(sectors, uint.MaxValue);
        var rootB = slots[2] ??= new MbrPartition(MbrPartition.Linux, (uint)AlignUp((long)rootA.FirstLba + rootA.SectorCount), rootA.SectorCount);
        bool changed = mbr.Partitions.Count != slots.Count(s => s is not null);
        if (slots[3] is null)
        {
            long first = AlignUp((long)rootB.FirstLba + rootB.SectorCount);
            if (first + Alignment / Sector > diskEnd)
                throw new DiskTooSmallException($"the disk {disk} has no room for a data partition after root-b");
            slots[3] = new MbrPartition(MbrPartition.Linux, (uint)first, (uint)(diskEnd - first));
            changed = true;
        }
        if ((long)rootB.FirstLba + rootB.SectorCount > sectors)
            throw new DiskTooSmallException($"the disk {disk} ({Size(sectors * Sector)}) ends before root-b does");
        var data = slots[3]!;
        if (changed)
        {
            // Only the four records change: boot code and disk signature stay byte for byte.
            _ = new MasterBootRecord(mbr.DiskSignature, slots.OfType<MbrPartition>()); // checks for overlaps
            for (int i = 0; i < 4; i++)
                if (slots[i] is { } s) s.WriteTo(raw.AsSpan(PartitionTableOffset + i * MbrPartition.Size, MbrPartition.Size));
            stream.Position = 0;
            stream.Write(raw);
            stream.Flush(flushToDisk: true);
            stopPoint?.Invoke("partition:table-written");
        }
        return new DiskLayoutState("mbr", Place(3, rootB.FirstLba, rootB.FirstLba + rootB.SectorCount - 1L),
            Place(4, data.FirstLba, data.FirstLba + data.SectorCount - 1L), changed, BitConverter.GetBytes(mbr.DiskSignature));
    }

    private const int PartitionTableOffset = 446;

    private static void ReadSlots(byte[] raw, MbrPartition?[] slots)
    {
        for (int i = 0; i < 4; i++)
            slots[i] = MbrPartition.Read(raw.AsSpan(PartitionTableOffset + i * MbrPartition.Size, MbrPartition.Size));
    }

    private static PartitionPlace Place(int number, long first, long last) => new(number, first * Sector, (last - first + 1) * Sector);

    private static long AlignUp(long lba) => (lba * Sector + Alignment - 1) / Alignment * Alignment / Sector;

    private static string Size(long bytes) => BlockDevices.SizeText(bytes);
}
