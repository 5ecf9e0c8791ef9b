// The isohybrid system area as xorriso -isohybrid-mbr X -isohybrid-gpt-basdat writes it: MBR + GPT in blocks 0–15, backup GPT at the end.
using System.Buffers.Binary;
using Appliance.Common.Disk.Gpt;
using Appliance.Common.Disk.Mbr;

namespace Appliance.ImageBuilder.Disk.Iso9660;

/// <summary>
/// MBR: boot code (bytes 0–431), the BIOS boot image's 512-byte LBA as a 64-bit number at 432 (where isohdpfx.bin reads
/// it), partition 1 bootable type 0x00 over the whole image, partition 2 type 0xEF over the EFI boot image; CHS with
/// 64 heads × 32 sectors. GPT: 248 entries (LBA 2–63, so the first usable LBA is 64), partition 1 "ISOHybrid" from LBA 0
/// to 64 sectors before the end, partition 2 "ISOHybrid1" over the EFI boot image, both basic data with attributes
/// 0x1000000000000001 (read-only, required); the backup header in the image's last sector.
/// </summary>
internal static class HybridSystemArea
{
    public const int BootCodeSize = 432;
    private const int Sector = 512, SectorsPerBlock = IsoLayout.BlockSize / Sector;
    private const int EntryCount = 248;
    private const ulong Attributes = 0x1000000000000001;

    public static Guid Write(IsoLayout layout, IsoHybrid hybrid, ReadOnlySpan<byte> seed, Stream output)
    {
        long sectors = layout.TotalBlocks * SectorsPerBlock;
        var efi = layout.Boot.FirstOrDefault(b => b.Entry.Platform == IsoBootPlatform.Efi);
        var bios = layout.Boot.FirstOrDefault(b => b.Entry.Platform == IsoBootPlatform.X86Bios);

        var diskGuid = Appliance.Common.DerivedGuid.Create(seed, "iso gpt disk");
        var parts = new List<GptPartition>
        {
            new(GptPartitionTypes.MicrosoftBasicData, Appliance.Common.DerivedGuid.Create(seed, "iso gpt partition 1"), 0, sectors - 64 - 1, "ISOHybrid", Attributes),
        };
        var mbrParts = new List<MbrPartition> { new(MbrPartition.Empty, 0, (uint)Math.Min(sectors, uint.MaxValue), Bootable: true) };
        if (efi != null)
        {
            long first = (long)efi.Lba * SectorsPerBlock, count = (efi.Length + Sector - 1) / Sector;
            parts.Add(new(GptPartitionTypes.MicrosoftBasicData, Appliance.Common.DerivedGuid.Create(seed, "iso gpt partition 2"), first, first + count - 1, "ISOHybrid1", Attributes));
            mbrParts.Add(new MbrPartition(MbrPartition.EfiSystem, (uint)first, (uint)count));
        }

        var code = new byte[MasterBootRecord.BootCodeSize];
        if (hybrid.MbrBootCode is { } boot)
        {
            boot.CopyTo(code, 0);
            if (bios != null) BinaryPrimitives.WriteUInt64LittleEndian(code.AsSpan(BootCodeSize), (ulong)bios.Lba * SectorsPerBlock);
        }
        var mbr = new MasterBootRecord(Appliance.Common.DerivedGuid.CreateUInt32(seed, "iso mbr signature"), mbrParts, overlapping: true)
        {
            BootCode = code,
            Geometry = (64, 32),
        };
        new GptTable(sectors, diskGuid, parts, new GptTableOptions(EntryCount, Hybrid: true)).WriteTo(output, mbr);
        return diskGuid;
    }
}
