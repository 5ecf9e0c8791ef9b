// SquashFS metadata blocks: 8 KiB of uncompressed data each, stored behind a 2-byte length header (bit 15 = uncompressed).
using System.Buffers.Binary;

namespace Appliance.ImageBuilder.Disk.SquashFs;

/// <summary>Builds a metadata table (inode, directory, id, fragment or xattr) in memory.</summary>
internal sealed class MetadataWriter(BlockCodec codec)
{
    public const int BlockSize = 8192;
    private readonly MemoryStream _out = new();
    private readonly byte[] _block = new byte[BlockSize];
    private readonly byte[] _scratch = new byte[BlockSize];
    private int _fill;
    private readonly List<long> _blockStarts = [];

    /// <summary>The reference of the next byte: compressed block start (relative to the table) and offset in the block.</summary>
    public (long Block, int Offset) Position => (_out.Length, _fill);

    /// <summary>The inode-reference form of <see cref="Position"/>: block start &lt;&lt; 16 | offset.</summary>
    public ulong Reference => ((ulong)_out.Length << 16) | (uint)_fill;

    /// <summary>Uncompressed bytes written so far.</summary>
    public long UncompressedLength { get; private set; }

    /// <summary>Starts of every block flushed so far, relative to the table.</summary>
    public IReadOnlyList<long> BlockStarts => _blockStarts;

    public void Write(ReadOnlySpan<byte> data)
    {
        UncompressedLength += data.Length;
        while (data.Length > 0)
        {
            int n = Math.Min(data.Length, BlockSize - _fill);
            data[..n].CopyTo(_block.AsSpan(_fill));
            _fill += n;
            data = data[n..];
            if (_fill == BlockSize) Flush();
        }
    }

    private void Flush()
    {
        if (_fill == 0) return;
        _blockStarts.Add(_out.Length);
        int c = codec.Compress(_block.AsSpan(0, _fill), _scratch);
        Span<byte> header = stackalloc byte[2];
        if (c > 0)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)c);
            _out.Write(header);
            _out.Write(_scratch, 0, c);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)(_fill | 0x8000));
            _out.Write(header);
            _out.Write(_block, 0, _fill);
        }
        _fill = 0;
    }

    /// <summary>Flushes the last partial block and returns the whole table.</summary>
    public byte[] Finish()
    {
        Flush();
        return _out.ToArray();
    }
}
