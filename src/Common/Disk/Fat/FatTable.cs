// Microsoft FAT specification §4: the FAT32 allocation table (28-bit cluster links), read once and followed.
using System.Buffers.Binary;

namespace Appliance.Common.Disk.Fat;

/// <summary>The first FAT of a volume in memory: cluster links, chains checked against loops and bad links.</summary>
internal sealed class FatTable
{
    /// <summary>The mask of the 28 bits a FAT32 entry uses.</summary>
    public const uint Mask = 0x0FFFFFFF;
    /// <summary>An end-of-chain value (§4: any of 0x0FFFFFF8–0x0FFFFFFF).</summary>
    public const uint EndOfChain = 0x0FFFFFFF;

    private FatTable(uint[] links) => Links = links;

    /// <summary>The link of each cluster (index = cluster number; 0 and 1 are reserved).</summary>
    public uint[] Links { get; }

    /// <summary>Reads the boot sector and the first FAT of the volume at offset 0 of <paramref name="volume"/>.</summary>
    public static (BootSector Boot, FatTable Fat) Open(Stream volume)
    {
        var boot = BootSector.Read(volume);
        return (boot, Read(volume, boot));
    }

    /// <summary>Reads the first FAT of the volume at offset 0 of <paramref name="volume"/>.</summary>
    public static FatTable Read(Stream volume, BootSector boot)
    {
        long entries = boot.ClusterCount + 2;
        var bytes = new byte[entries * 4];
        volume.Position = (long)boot.ReservedSectors * BootSector.SectorSize;
        volume.ReadExactly(bytes);
        var links = new uint[entries];
        for (long i = 0; i < entries; i++) links[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)(i * 4))) & Mask;
        return new FatTable(links);
    }

    /// <summary>The clusters of the chain starting at <paramref name="first"/>; <paramref name="what"/> names it in errors.</summary>
    public List<uint> Chain(uint first, string what)
    {
        var list = new List<uint>();
        uint c = first;
        while (c >= 2 && c < 0x0FFFFFF8)
        {
            if (c >= Links.Length) throw new InvalidDataException($"FAT: {what} links to cluster {c}, past the last cluster {Links.Length - 1}");
            if (list.Count > Links.Length) throw new InvalidDataException($"FAT: {what} has a cluster chain loop");
            list.Add(c);
            c = Links[c];
        }
        return list;
    }
}
