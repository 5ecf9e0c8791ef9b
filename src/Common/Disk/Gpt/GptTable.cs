// UEFI 2.10 §5.3: a whole GUID partition table (protective MBR, primary and backup headers and entry arrays).
using System.IO.Hashing;
using Appliance.Common.Disk.Mbr;

namespace Appliance.Common.Disk.Gpt;

/// <summary>
/// A GUID partition table for a disk of <see cref="DiskSectors"/> 512-byte sectors, with the standard
/// 128 entries of 128 bytes (or <see cref="GptTableOptions.EntryCount"/>). <see cref="WriteTo(Stream)"/> writes LBA 0–33
/// and the last 33 sectors (for 128 entries) and nothing else.
/// </summary>
public sealed class GptTable
{
    /// <summary>The logical sector size this table uses.</summary>
    public const int SectorSize = 512;
    /// <summary>Entries in the partition entry array.</summary>
    public const int EntryCount = 128;
    /// <summary>Sectors taken by one entry array.</summary>
    public const int EntryArraySectors = EntryCount * GptEntry.Size / SectorSize;

    /// <summary>Creates a table.</summary>
    public GptTable(long diskSectors, Guid diskGuid, IEnumerable<GptPartition> partitions)
        : this(diskSectors, diskGuid, partitions, GptTableOptions.Default) { }

    /// <summary>Creates a table with a non-standard entry array or overlapping (hybrid) partitions.</summary>
    public GptTable(long diskSectors, Guid diskGuid, IEnumerable<GptPartition> partitions, GptTableOptions options)
    {
        DiskSectors = diskSectors;
        DiskGuid = diskGuid;
        Partitions = partitions.ToList();
        Options = options;
        if (options.EntryCount < 1 || options.EntryCount * GptEntry.Size % SectorSize != 0)
            throw new ArgumentException($"{options.EntryCount} GPT entries do not fill whole {SectorSize}-byte sectors");
        Validate();
    }

    /// <summary>The entry array's size and whether partitions may overlap.</summary>
    public GptTableOptions Options { get; }

    /// <summary>Sectors taken by this table's entry array.</summary>
    public int EntrySectors => Options.EntryCount * GptEntry.Size / SectorSize;

    /// <summary>The disk size in sectors.</summary>
    public long DiskSectors { get; }
    /// <summary>The disk GUID.</summary>
    public Guid DiskGuid { get; }
    /// <summary>The partitions, in entry order.</summary>
    public IReadOnlyList<GptPartition> Partitions { get; }
    /// <summary>
    /// For a table read from a disk: where its backup header was recorded to be (the primary header's alternate LBA).
    /// A disk image copied to a larger disk keeps it at the image's end until the table is written again.
    /// </summary>
    public long? RecordedBackupLba { get; private init; }
    /// <summary>The first LBA a partition may use.</summary>
    public long FirstUsableLba => 2 + EntrySectors;
    /// <summary>The last LBA a partition may use.</summary>
    public long LastUsableLba => DiskSectors - 2 - EntrySectors;

    private void Validate()
    {
        if (DiskSectors < 2 * (2 + EntrySectors) + 1) throw new ArgumentException($"a {DiskSectors}-sector disk is too small for a GPT");
        if (Partitions.Count > Options.EntryCount) throw new ArgumentException($"{Partitions.Count} partitions: this GPT holds at most {Options.EntryCount}");
        var sorted = Partitions.OrderBy(p => p.FirstLba).ToList();
        for (int i = 0; i < sorted.Count; i++)
        {
            var p = sorted[i];
            if (p.Name.Length > GptEntry.NameChars) throw new ArgumentException($"partition name '{p.Name}' is longer than {GptEntry.NameChars} UTF-16 units");
            if (Options.Hybrid)
            {
                if (p.LastLba < p.FirstLba || p.FirstLba < 0 || p.LastLba > LastUsableLba)
                    throw new ArgumentException($"partition '{p.Name}' LBA {p.FirstLba}-{p.LastLba} is outside the disk's 0-{LastUsableLba}");
                continue;
            }
            if (p.FirstLba < FirstUsableLba || p.LastLba > LastUsableLba || p.LastLba < p.FirstLba)
                throw new ArgumentException($"partition '{p.Name}' LBA {p.FirstLba}-{p.LastLba} is outside the usable range {FirstUsableLba}-{LastUsableLba}");
            if (i > 0 && p.FirstLba <= sorted[i - 1].LastLba)
                throw new ArgumentException($"partitions '{sorted[i - 1].Name}' and '{p.Name}' overlap");
        }
    }

    /// <summary>Writes the protective MBR, both headers and both entry arrays into <paramref name="disk"/>.</summary>
    public void WriteTo(Stream disk) => WriteTo(disk, MasterBootRecord.Protective(DiskSectors));

    /// <summary>Writes <paramref name="mbr"/> (a hybrid MBR instead of the protective one), both headers and both entry arrays.</summary>
    public void WriteTo(Stream disk, MasterBootRecord mbr)
    {
        var entries = new byte[EntrySectors * SectorSize];
        for (int i = 0; i < Partitions.Count; i++)
            GptEntry.WriteTo(Partitions[i], entries.AsSpan(i * GptEntry.Size, GptEntry.Size));
        uint entriesCrc = Crc32.HashToUInt32(entries);
        long last = DiskSectors - 1;

        var mbrBytes = new byte[SectorSize];
        mbr.WriteTo(mbrBytes);
        var primary = Header(1, last, 2, entriesCrc);
        var backup = Header(last, 1, last - EntrySectors, entriesCrc);

        var sector = new byte[SectorSize];
        disk.Position = 0;
        disk.Write(mbrBytes);
        primary.WriteTo(sector);
        disk.Write(sector);
        disk.Write(entries);
        disk.Position = (last - EntrySectors) * SectorSize;
        disk.Write(entries);
        backup.WriteTo(sector);
        disk.Write(sector);
    }

    private GptHeader Header(long my, long alternate, long entryLba, uint entriesCrc) => new()
    {
        MyLba = my, AlternateLba = alternate, FirstUsableLba = FirstUsableLba, LastUsableLba = LastUsableLba,
        DiskGuid = DiskGuid, EntryLba = entryLba, EntryCount = Options.EntryCount, EntrySize = GptEntry.Size, EntryArrayCrc = entriesCrc,
    };

    /// <summary>
    /// Reads the table of <paramref name="disk"/>: the primary header, or the backup one when the primary is damaged.
    /// Throws <see cref="InvalidDataException"/> when neither header or entry array checks out.
    /// </summary>
    public static GptTable Read(Stream disk) => Read(disk, disk.Length / SectorSize);

    /// <summary>
    /// Reads the table of a disk of <paramref name="diskSectors"/> sectors (a block device's stream has no length).
    /// The table's <see cref="DiskSectors"/> is the larger of that and the end its primary header records.
    /// </summary>
    public static GptTable Read(Stream disk, long diskSectors)
    {
        long sectors = diskSectors;
        try { return ReadAt(disk, 1, sectors); }
        catch (InvalidDataException primaryError)
        {
            try { return ReadAt(disk, sectors - 1, sectors); }
            catch (InvalidDataException) { throw primaryError; }
        }
    }

    private static GptTable ReadAt(Stream disk, long lba, long sectors)
    {
        var sector = new byte[SectorSize];
        disk.Position = lba * SectorSize;
        disk.ReadExactly(sector);
        var h = GptHeader.Read(sector, lba);
        if (h.EntrySize < GptEntry.Size || h.EntryCount > 4096) throw new InvalidDataException($"GPT header at LBA {lba}: {h.EntryCount} entries of {h.EntrySize} bytes");
        var entries = new byte[h.EntryCount * h.EntrySize];
        disk.Position = h.EntryLba * SectorSize;
        disk.ReadExactly(entries);
        uint crc = Crc32.HashToUInt32(entries);
        if (crc != h.EntryArrayCrc) throw new InvalidDataException($"GPT entry array at LBA {h.EntryLba}: CRC32 0x{h.EntryArrayCrc:x8}, computed 0x{crc:x8}");
        var parts = new List<GptPartition>();
        for (int i = 0; i < h.EntryCount; i++)
            if (GptEntry.Read(entries.AsSpan(i * h.EntrySize, GptEntry.Size)) is { } p) parts.Add(p);
        return new GptTable(Math.Max(sectors, h.AlternateLba + 1), h.DiskGuid, parts) { RecordedBackupLba = lba == 1 ? h.AlternateLba : lba };
    }
}

/// <summary>How a <see cref="GptTable"/> deviates from the standard layout.</summary>
/// <param name="EntryCount">Entries in the array (128 standard; xorriso's hybrid ISO images use 248, filling LBA 2–63).</param>
/// <param name="Hybrid">Partitions may overlap the table and each other: a hybrid ISO image's first partition covers the
/// whole ISO from LBA 0, and the EFI partition lies inside it.</param>
public sealed record GptTableOptions(int EntryCount = GptTable.EntryCount, bool Hybrid = false)
{
    /// <summary>128 entries, no overlaps.</summary>
    public static readonly GptTableOptions Default = new();
}
