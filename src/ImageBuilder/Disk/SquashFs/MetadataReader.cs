// Reads a SquashFS metadata table as a byte stream across its 8 KiB blocks, from a (block, offset) reference.
using System.Buffers.Binary;

namespace Appliance.ImageBuilder.Disk.SquashFs;

internal sealed class MetadataReader
{
    private readonly Stream _image;
    private readonly BlockCodec _codec;
    private readonly long _tableStart;
    private readonly Dictionary<long, (byte[] Data, long Next)> _cache;
    private long _block;
    private byte[] _data = [];
    private long _next;
    private int _offset;

    public MetadataReader(Stream image, BlockCodec codec, long tableStart, Dictionary<long, (byte[], long)> cache, long block, int offset)
    {
        _image = image; _codec = codec; _tableStart = tableStart; _cache = cache;
        Load(block);
        _offset = offset;
    }

    private void Load(long block)
    {
        _block = block;
        if (!_cache.TryGetValue(block, out var entry))
        {
            long at = _tableStart + block;
            var hdr = new byte[2];
            _image.Position = at;
            _image.ReadExactly(hdr);
            ushort h = BinaryPrimitives.ReadUInt16LittleEndian(hdr);
            int size = h & 0x7FFF;
            if (size == 0 || size > MetadataWriter.BlockSize)
                throw new InvalidDataException($"squashfs metadata block at byte {at}: stored size {size} is not in 1..8192");
            var raw = new byte[size];
            _image.ReadExactly(raw);
            byte[] data;
            if ((h & 0x8000) != 0) data = raw;
            else
            {
                var buf = new byte[MetadataWriter.BlockSize];
                int n = _codec.Decompress(raw, buf);
                data = buf[..n];
            }
            entry = (data, block + 2 + size);
            _cache[block] = entry;
        }
        (_data, _next) = entry;
        _offset = 0;
    }

    public byte[] ReadBytes(int count)
    {
        var result = new byte[count];
        int done = 0;
        while (done < count)
        {
            if (_offset >= _data.Length) Load(_next);
            int n = Math.Min(count - done, _data.Length - _offset);
            _data.AsSpan(_offset, n).CopyTo(result.AsSpan(done));
            _offset += n; done += n;
        }
        return result;
    }

    public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2));
    public short I16() => BinaryPrimitives.ReadInt16LittleEndian(ReadBytes(2));
    public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4));
    public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8));
}
