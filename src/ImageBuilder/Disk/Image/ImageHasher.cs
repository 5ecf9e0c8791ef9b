// SHA-256 of a disk image and of its partitions, taken from the writes while the image is composed, holes included.
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using Appliance.ImageBuilder.Disk.Common;

namespace Appliance.ImageBuilder.Disk.Image;

/// <summary>
/// Hashes an image in file order from the writes that compose it, so nobody reads the file back (for an 8 GiB sparse
/// image that second pass cost more than writing it).
/// <list type="bullet">
/// <item>A write at the hashed frontier is hashed at once; a write beyond it waits in memory (a FAT writes its data
/// area before its tables) until the bytes before it are final.</item>
/// <item><see cref="SealTo"/> says nothing more will be written below an offset: what was never written there is a
/// hole and is hashed as zeros from one shared zero buffer, never read.</item>
/// <item>Hashing runs on two threads beside the writer: one for the whole image, one for the partitions asked for.</item>
/// </list>
/// Content must write each byte at most once after the frontier passed it; a rewrite of hashed bytes is a bug in the
/// writer and throws.
/// </summary>
internal sealed class ImageHasher : IDisposable
{
    private static readonly byte[] Zeros = new byte[1 << 20];
    private const int QueueDepth = 64;

    private readonly (long Start, long End)[] _ranges;
    private readonly IncrementalHash _whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash[] _parts;
    private readonly BlockingCollection<Segment> _wholeQueue = new(QueueDepth), _partQueue = new(QueueDepth);
    private readonly Thread _wholeThread, _partThread;
    private readonly SortedDictionary<long, byte[]> _ahead = [];
    private volatile ExceptionDispatchInfo? _failure;
    private long _frontier;
    private bool _finished;

    /// <summary>A run of the image in file order: bytes, or (when <see cref="Data"/> is null) that many zeros.</summary>
    private readonly record struct Segment(long Offset, byte[]? Data, long Length);

    /// <summary>Starts hashing; <paramref name="ranges"/> are the byte ranges (sorted, disjoint) that also get a digest of their own.</summary>
    public ImageHasher(IReadOnlyList<(long Start, long End)> ranges)
    {
        _ranges = [.. ranges];
        _parts = _ranges.Select(_ => IncrementalHash.CreateHash(HashAlgorithmName.SHA256)).ToArray();
        _wholeThread = new Thread(() => Consume(_wholeQueue, HashWhole)) { IsBackground = true, Name = "image sha256" };
        _partThread = new Thread(() => Consume(_partQueue, HashParts)) { IsBackground = true, Name = "partition sha256" };
        _wholeThread.Start();
        _partThread.Start();
    }

    /// <summary>A stream that writes through to <paramref name="output"/> and hashes what it writes.</summary>
    public Stream Wrap(Stream output) => new WriteTapStream(output, Written);

    /// <summary>Nothing more will be written below <paramref name="offset"/>: hash up to it, holes as zeros.</summary>
    public void SealTo(long offset)
    {
        while (_frontier < offset)
        {
            if (_ahead.Count > 0 && _ahead.First() is var (at, data) && at < offset)
            {
                if (at < _frontier) throw new InvalidOperationException($"overlapping writes at offset {at}: content may write each byte only once");
                if (at > _frontier) Emit(new Segment(_frontier, null, at - _frontier));
                _ahead.Remove(at);
                Emit(new Segment(at, data, data.Length));
            }
            else Emit(new Segment(_frontier, null, offset - _frontier));
        }
    }

    /// <summary>Seals the image at <paramref name="size"/> and returns its digest and each range's, in order.</summary>
    public (byte[] Image, byte[][] Ranges) Finish(long size)
    {
        SealTo(size);
        if (_ahead.Count > 0) throw new InvalidOperationException($"bytes written at offset {_ahead.First().Key}, past the end of the {size}-byte image");
        _finished = true;
        _wholeQueue.CompleteAdding();
        _partQueue.CompleteAdding();
        _wholeThread.Join();
        _partThread.Join();
        _failure?.Throw();
        return (_whole.GetHashAndReset(), _parts.Select(p => p.GetHashAndReset()).ToArray());
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_finished)
        {
            _finished = true;
            _wholeQueue.CompleteAdding();
            _partQueue.CompleteAdding();
            _wholeThread.Join();
            _partThread.Join();
        }
        _whole.Dispose();
        foreach (var p in _parts) p.Dispose();
        _wholeQueue.Dispose();
        _partQueue.Dispose();
    }

    private void Written(long offset, ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return;
        if (offset < _frontier)
            throw new InvalidOperationException($"{bytes.Length} bytes written at offset {offset}, below {_frontier} that is already hashed: content may write each byte only once");
        if (offset == _frontier)
        {
            Emit(new Segment(offset, bytes.ToArray(), bytes.Length));
            // What waited for these bytes may now follow.
            while (_ahead.Count > 0 && _ahead.First() is var (at, data) && at <= _frontier)
            {
                if (at < _frontier) throw new InvalidOperationException($"overlapping writes at offset {at}: content may write each byte only once");
                _ahead.Remove(at);
                Emit(new Segment(at, data, data.Length));
            }
            return;
        }
        if (!_ahead.TryAdd(offset, bytes.ToArray()))
            throw new InvalidOperationException($"overlapping writes at offset {offset}: content may write each byte only once");
    }

    private void Emit(Segment s)
    {
        _failure?.Throw();
        _wholeQueue.Add(s);
        _partQueue.Add(s);
        _frontier = s.Offset + s.Length;
    }

    private void Consume(BlockingCollection<Segment> queue, Action<Segment> hash)
    {
        try
        {
            foreach (var s in queue.GetConsumingEnumerable())
                if (_failure is null) hash(s);
        }
        catch (Exception e)
        {
            _failure = ExceptionDispatchInfo.Capture(e);
            foreach (var _ in queue.GetConsumingEnumerable()) { }
        }
    }

    private void HashWhole(Segment s) => Append(_whole, s, 0, s.Length);

    private void HashParts(Segment s)
    {
        long end = s.Offset + s.Length;
        for (int i = 0; i < _ranges.Length; i++)
        {
            var (a, b) = _ranges[i];
            long from = Math.Max(a, s.Offset), to = Math.Min(b, end);
            if (from < to) Append(_parts[i], s, from - s.Offset, to - from);
        }
    }

    /// <summary>Appends <paramref name="length"/> bytes of <paramref name="s"/> from <paramref name="skip"/> on; a hole as zeros.</summary>
    private static void Append(IncrementalHash hash, Segment s, long skip, long length)
    {
        if (s.Data is { } data)
        {
            hash.AppendData(data, (int)skip, (int)length);
            return;
        }
        for (long left = length; left > 0; left -= Zeros.Length)
            hash.AppendData(Zeros, 0, (int)Math.Min(Zeros.Length, left));
    }
}
