// SquashFS xattr table: key/value pairs in metadata blocks, an id table of (ref, count, size), and its lookup header.
using System.Buffers.Binary;
using System.Text;

namespace Appliance.ImageBuilder.Disk.SquashFs;

internal sealed class XattrTable(BlockCodec codec)
{
    private static readonly (string Prefix, ushort Type)[] Prefixes = [("user.", 0), ("trusted.", 1), ("security.", 2)];
    private readonly MetadataWriter _pairs = new(codec);
    private readonly List<(ulong Ref, uint Count, uint Size)> _ids = [];
    private readonly Dictionary<string, uint> _byKey = new(StringComparer.Ordinal);

    public int Count => _ids.Count;

    /// <summary>Returns the xattr id for a set of attributes, adding it if new; <see cref="Inode.NoXattr"/> for none.</summary>
    public uint Add(SortedDictionary<string, byte[]> xattrs, string where)
    {
        if (xattrs.Count == 0) return Inode.NoXattr;
        var key = string.Join('\0', xattrs.Select(kv => kv.Key + "=" + Convert.ToHexString(kv.Value)));
        if (_byKey.TryGetValue(key, out var id)) return id;
        ulong reference = _pairs.Reference;
        long before = _pairs.UncompressedLength;
        Span<byte> four = stackalloc byte[4];
        foreach (var (name, value) in xattrs)
        {
            var (prefix, type) = Prefixes.FirstOrDefault(p => name.StartsWith(p.Prefix, StringComparison.Ordinal));
            if (prefix is null)
                throw new InvalidDataException($"{where}: xattr '{name}' has a namespace SquashFS cannot store (only user., trusted. and security.)");
            var suffix = Encoding.UTF8.GetBytes(name[prefix.Length..]);
            BinaryPrimitives.WriteUInt16LittleEndian(four, type);
            BinaryPrimitives.WriteUInt16LittleEndian(four[2..], (ushort)suffix.Length);
            _pairs.Write(four);
            _pairs.Write(suffix);
            BinaryPrimitives.WriteUInt32LittleEndian(four, (uint)value.Length);
            _pairs.Write(four);
            _pairs.Write(value);
        }
        id = (uint)_ids.Count;
        _ids.Add((reference, (uint)xattrs.Count, (uint)(_pairs.UncompressedLength - before)));
        _byKey[key] = id;
        return id;
    }

    /// <summary>Writes the pairs, the id entries and the id lookup header; returns the xattr_id_table_start.</summary>
    public ulong WriteTo(Stream output)
    {
        ulong pairsStart = (ulong)output.Position;
        output.Write(_pairs.Finish());
        var idWriter = new MetadataWriter(codec);
        Span<byte> e = stackalloc byte[16];
        foreach (var (r, c, s) in _ids)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(e, r);
            BinaryPrimitives.WriteUInt32LittleEndian(e[8..], c);
            BinaryPrimitives.WriteUInt32LittleEndian(e[12..], s);
            idWriter.Write(e);
        }
        long idStart = output.Position;
        output.Write(idWriter.Finish());
        ulong tableStart = (ulong)output.Position;
        var header = new byte[16 + 8 * idWriter.BlockStarts.Count];
        BinaryPrimitives.WriteUInt64LittleEndian(header, pairsStart);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), (uint)_ids.Count);
        for (int i = 0; i < idWriter.BlockStarts.Count; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(16 + 8 * i), (ulong)(idStart + idWriter.BlockStarts[i]));
        output.Write(header);
        return tableStart;
    }

    /// <summary>Reads the attributes of one xattr id.</summary>
    public static SortedDictionary<string, byte[]> Read(Stream image, BlockCodec codec, ulong idTableStart, uint id, Dictionary<long, (byte[], long)> cache)
    {
        var result = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        var head = new byte[16];
        image.Position = (long)idTableStart;
        image.ReadExactly(head);
        ulong pairsStart = BinaryPrimitives.ReadUInt64LittleEndian(head);
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(8));
        if (id >= count) throw new InvalidDataException($"squashfs xattr id {id} is past the {count} ids of the table");
        var loc = new byte[8];
        image.Position = (long)idTableStart + 16 + 8 * (id / 512);
        image.ReadExactly(loc);
        long block = (long)BinaryPrimitives.ReadUInt64LittleEndian(loc);
        var ids = new MetadataReader(image, codec, block, [], 0, (int)(id % 512 * 16));
        ulong reference = ids.U64();
        uint pairs = ids.U32();
        var r = new MetadataReader(image, codec, (long)pairsStart, cache, (long)(reference >> 16), (int)(reference & 0xFFFF));
        for (uint i = 0; i < pairs; i++)
        {
            ushort type = r.U16();
            string name = Encoding.UTF8.GetString(r.ReadBytes(r.U16()));
            var prefix = Prefixes.FirstOrDefault(p => p.Type == (type & 0xFF)).Prefix
                ?? throw new InvalidDataException($"squashfs xattr id {id}: unknown namespace {type}");
            if ((type & 0x100) != 0)
            {
                r.U32();
                ulong vref = r.U64();
                var vr = new MetadataReader(image, codec, (long)pairsStart, cache, (long)(vref >> 16), (int)(vref & 0xFFFF));
                result[prefix + name] = vr.ReadBytes((int)vr.U32());
            }
            else
                result[prefix + name] = r.ReadBytes((int)r.U32());
        }
        return result;
    }
}
