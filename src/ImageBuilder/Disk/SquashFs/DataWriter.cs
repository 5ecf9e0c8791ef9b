// Streams file data as SquashFS data and fragment blocks, compressing on all cores while writing strictly in order.
using System.Buffers;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.SquashFs;

/// <summary>Where one file's data went; filled in as its blocks reach the output.</summary>
internal sealed class FileData
{
    public ulong BlocksStart;
    public uint[] BlockSizes = [];
    public uint FragmentIndex = Inode.NoFragment;
    public uint FragmentOffset;
    public ulong Sparse;
}

/// <summary>
/// Reads blocks on the calling thread, compresses them on the thread pool, and writes them in submission
/// order. At most <c>maxInFlight</c> blocks are held at once, so memory stays bounded whatever the tree size.
/// </summary>
internal sealed class DataWriter
{
    public const uint UncompressedBit = 1 << 24;
    private readonly Stream _out;
    private readonly BlockCodec _codec;
    private readonly int _blockSize;
    private readonly bool _fragments;
    private readonly int _maxInFlight;
    private readonly Queue<Pending> _queue = new();
    private readonly byte[] _frag;
    private int _fragFill;

    private sealed record Pending(Task<Result>? Work, Action<ulong>? OnStart, Action<ulong, uint>? OnWritten);
    private readonly record struct Result(byte[] Buffer, int Length, uint SizeWord, byte[]? ReturnAlso);

    public DataWriter(Stream output, BlockCodec codec, int blockSize, bool fragments, int parallelism)
    {
        _out = output; _codec = codec; _blockSize = blockSize; _fragments = fragments;
        _maxInFlight = Math.Max(2, parallelism * 3);
        _frag = new byte[blockSize];
    }

    /// <summary>The fragment table: start and size word of every fragment block.</summary>
    public List<(ulong Start, uint SizeWord)> Fragments { get; } = [];

    public ulong Position => (ulong)_out.Position;

    public FileData Add(FileContent content)
    {
        var fd = new FileData();
        long size = content.Length;
        if (size == 0) return fd;
        long full = size / _blockSize;
        int tail = (int)(size % _blockSize);
        bool tailInFragment = _fragments && tail > 0;
        long blocks = tailInFragment ? full : (size + _blockSize - 1) / _blockSize;
        fd.BlockSizes = new uint[blocks];
        using var reader = content.Open();
        var ranges = blocks > 0 ? content.GetDataRanges() : [];
        int rangeIndex = 0;
        _queue.Enqueue(new Pending(null, pos => fd.BlocksStart = pos, null));
        for (long i = 0; i < blocks; i++)
        {
            long off = i * _blockSize;
            int len = (int)Math.Min(_blockSize, size - off);
            while (rangeIndex < ranges.Count && ranges[rangeIndex].End <= off) rangeIndex++;
            bool hasData = rangeIndex < ranges.Count && ranges[rangeIndex].Offset < off + len;
            long index = i;
            if (hasData)
            {
                var buf = ArrayPool<byte>.Shared.Rent(_blockSize);
                reader.ReadExactly(off, buf.AsSpan(0, len));
                if (buf.AsSpan(0, len).ContainsAnyExcept((byte)0))
                {
                    Submit(buf, len, (_, word) => fd.BlockSizes[index] = word);
                    continue;
                }
                ArrayPool<byte>.Shared.Return(buf);
            }
            fd.BlockSizes[index] = 0; // a sparse block: all zeros, stored as nothing
            fd.Sparse += (ulong)len;
        }
        if (tailInFragment)
        {
            if (_fragFill + tail > _blockSize) FlushFragment();
            reader.ReadExactly(full * _blockSize, _frag.AsSpan(_fragFill, tail));
            fd.FragmentIndex = (uint)Fragments.Count;
            fd.FragmentOffset = (uint)_fragFill;
            _fragFill += tail;
        }
        Drain(all: false);
        return fd;
    }

    private void Submit(byte[] src, int len, Action<ulong, uint> onWritten)
    {
        var work = Task.Run(() =>
        {
            var dst = ArrayPool<byte>.Shared.Rent(_blockSize);
            int c = _codec.Compress(src.AsSpan(0, len), dst.AsSpan(0, _blockSize));
            if (c > 0) return new Result(dst, c, (uint)c, src);
            ArrayPool<byte>.Shared.Return(dst);
            return new Result(src, len, (uint)len | UncompressedBit, null);
        });
        _queue.Enqueue(new Pending(work, null, onWritten));
        Drain(all: false);
    }

    private void FlushFragment()
    {
        if (_fragFill == 0) return;
        int index = Fragments.Count;
        Fragments.Add((0, 0));
        var buf = ArrayPool<byte>.Shared.Rent(_blockSize);
        _frag.AsSpan(0, _fragFill).CopyTo(buf);
        Submit(buf, _fragFill, (pos, word) => Fragments[index] = (pos, word));
        _fragFill = 0;
    }

    private void Drain(bool all)
    {
        while (_queue.Count > 0 && (all || _queue.Count > _maxInFlight || _queue.Peek().Work is null or { IsCompleted: true }))
        {
            var p = _queue.Dequeue();
            ulong pos = (ulong)_out.Position;
            p.OnStart?.Invoke(pos);
            if (p.Work is null) continue;
            var r = p.Work.GetAwaiter().GetResult();
            _out.Write(r.Buffer, 0, r.Length);
            p.OnWritten?.Invoke(pos, r.SizeWord);
            ArrayPool<byte>.Shared.Return(r.Buffer);
            if (r.ReturnAlso != null) ArrayPool<byte>.Shared.Return(r.ReturnAlso);
        }
    }

    /// <summary>Flushes the last fragment block and waits for every block to be written.</summary>
    public void Finish()
    {
        FlushFragment();
        Drain(all: true);
    }
}
