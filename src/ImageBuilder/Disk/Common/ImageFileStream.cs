// A write stream onto an image file: writes gather in aligned chunks that a background thread writes, around the page
// cache (O_DIRECT) for durable output; all-zero blocks that were never written stay holes.
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Microsoft.Win32.SafeHandles;

namespace Appliance.ImageBuilder.Disk.Common;

/// <summary>
/// Writes an image file in 1 MiB chunks aligned to the file, each written by a background thread while the caller fills
/// the next one, so reading the input and writing the image overlap.
/// <list type="bullet">
/// <item>Direct mode (O_DIRECT, where the file system supports it) sends the data to the disk as it goes instead of
/// leaving it dirty in the page cache, so a closing fsync (see <see cref="Appliance.Common.AtomicFile"/>) has little left to wait for.</item>
/// <item>Page-cache mode writes like mcopy or mksquashfs do, leaving write-back to the kernel.</item>
/// </list>
/// Blocks never written before that hold only zeros are skipped, so the file stays sparse. Writes may go anywhere, in any
/// order: a block that may already hold data in the file is read back before it is changed.
/// Call <see cref="Flush"/> to finish. Disposing without it drops the chunk being filled (chunks already handed to the
/// background thread are still written) and closes the file: for output that is being thrown away.
/// </summary>
public sealed class ImageFileStream : Stream
{
    private const int Block = DirectIo.Alignment;
    private const int ChunkSize = 1 << 20;
    private const int BlocksPerChunk = ChunkSize / Block;
    private const int Slots = 4;
    private const byte Untouched = 0, Fresh = 1, Loaded = 2;

    private readonly SafeFileHandle _file;
    private readonly string _name;
    private readonly BlockingCollection<Slot> _free = new();
    private readonly BlockingCollection<Slot> _jobs = new();
    private readonly Thread _writer;
    private readonly object _gate = new();
    private int _pending;
    private volatile ExceptionDispatchInfo? _failure;
    private bool _disposed;

    private Slot? _slot;
    private long _pos, _length;
    /// <summary>Every byte at or past this offset is still zero in the file, and nothing pending writes there.</summary>
    private long _untouchedFrom;

    /// <summary>One chunk: its buffer, where it goes, and per 4 KiB block whether it was written and how it was prepared.</summary>
    private sealed class Slot
    {
        public readonly Memory<byte> Buffer = DirectIo.AllocateAligned(ChunkSize);
        public readonly byte[] State = new byte[BlocksPerChunk];
        public long Start;
        public int Lo = int.MaxValue, Hi = -1;
    }

    /// <summary>Opens the existing file at <paramref name="path"/> (normally new and empty) for writing.</summary>
    /// <param name="path">The file.</param>
    /// <param name="direct">Write around the page cache (O_DIRECT) when the file system allows it.</param>
    public ImageFileStream(string path, bool direct)
    {
        _name = path;
        _file = DirectIo.OpenReadWrite(path, direct);
        try
        {
            _length = _untouchedFrom = RandomAccess.GetLength(_file);
            for (int i = 0; i < Slots; i++) _free.Add(new Slot());
            _writer = new Thread(WriteLoop) { IsBackground = true, Name = "image writer" };
            _writer.Start();
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes a new file at <paramref name="path"/>: <paramref name="write"/> fills a temporary file next to it
    /// (the shared <see cref="Appliance.Common.AtomicFile"/>) through an ImageFileStream, which is then flushed and
    /// renamed into place by that writer. Durable output is written with O_DIRECT, fsynced before the rename, and its
    /// directory fsynced after it.
    /// </summary>
    public static T WriteFile<T>(string path, bool durable, Func<ImageFileStream, T> write)
    {
        var result = WriteFile(path, durable, write, [], out var unfinished);
        unfinished.Dispose();
        return result;
    }

    /// <summary>
    /// As <see cref="WriteFile{T}(string, bool, Func{ImageFileStream, T})"/>, and from the rename on the file and
    /// <paramref name="alsoUnfinished"/> stay marked unfinished until <paramref name="unfinished"/> is disposed
    /// (see <see cref="Appliance.Common.AtomicFile.CommitUnfinished"/>).
    /// </summary>
    public static T WriteFile<T>(string path, bool durable, Func<ImageFileStream, T> write, IEnumerable<string> alsoUnfinished, out IDisposable unfinished)
    {
        using var file = new Appliance.Common.AtomicFile(path, new(Durable: durable, BufferSize: 0));
        T result;
        using (var output = new ImageFileStream(file.TempPath, direct: durable))
        {
            result = write(output);
            output.Flush();
        }
        unfinished = file.CommitUnfinished(alsoUnfinished);
        return result;
    }

    /// <inheritdoc/>
    public override bool CanRead => false;
    /// <inheritdoc/>
    public override bool CanSeek => true;
    /// <inheritdoc/>
    public override bool CanWrite => true;
    /// <inheritdoc/>
    public override long Length => _length;
    /// <inheritdoc/>
    public override long Position
    {
        get => _pos;
        set { ArgumentOutOfRangeException.ThrowIfNegative(value); _pos = value; }
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) =>
        Position = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => _pos + offset, _ => _length + offset };

    /// <summary>Sets the length; growing is applied at <see cref="Flush"/>, shrinking at once (what is cut off reads as zeros if the file grows again).</summary>
    public override void SetLength(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        if (value < _length)
        {
            Flush();
            DirectIo.SetLength(_file, value, _name);
            _untouchedFrom = Math.Min(_untouchedFrom, value);
        }
        _length = value;
    }

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            var span = GetSpan(buffer.Length);
            buffer[..span.Length].CopyTo(span);
            Advance(span.Length);
            buffer = buffer[span.Length..];
        }
    }

    /// <summary>
    /// The chunk memory at <see cref="Position"/>: between 1 and <paramref name="max"/> bytes, which the caller must fill
    /// completely (for example by reading a file into it) before calling <see cref="Advance"/> with its length.
    /// It may hold bytes of an earlier chunk until then: a caller whose fill fails must not <see cref="Flush"/>.
    /// </summary>
    public Span<byte> GetSpan(int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        _failure?.Throw();
        if (_slot is null || _pos < _slot.Start || _pos >= _slot.Start + ChunkSize) MoveTo(_pos / ChunkSize * ChunkSize);
        int at = (int)(_pos - _slot!.Start);
        int n = Math.Min(max, ChunkSize - at);
        Prepare(_slot, at, n);
        return _slot.Buffer.Span.Slice(at, n);
    }

    /// <summary>Moves <see cref="Position"/> past <paramref name="count"/> bytes filled through <see cref="GetSpan"/>.</summary>
    public void Advance(int count)
    {
        _pos += count;
        if (_pos > _length) _length = _pos;
    }

    /// <summary>Writes everything pending, waits for it, and sets the file's length; does not fsync.</summary>
    public override void Flush()
    {
        if (_slot != null) { Submit(_slot); _slot = null; }
        Drain();
        if (RandomAccess.GetLength(_file) != _length) DirectIo.SetLength(_file, _length, _name);
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _jobs.CompleteAdding();
            _writer.Join();
            _file.Dispose();
            _jobs.Dispose();
            _free.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Makes blocks [at, at+n) of the current chunk ready to be written over: zeroed if new, read back if not.</summary>
    private void Prepare(Slot slot, int at, int n)
    {
        int first = at / Block, last = (at + n - 1) / Block;
        for (int b = first; b <= last; b++)
        {
            if (slot.State[b] != Untouched) continue;
            long start = slot.Start + (long)b * Block;
            var block = slot.Buffer.Span.Slice(b * Block, Block);
            if (start >= _untouchedFrom)
            {
                // Still zero on disk; the buffer holds an older chunk's bytes, so clear what this write leaves alone.
                if (b * Block < at || (b + 1) * Block > at + n) block.Clear();
                slot.State[b] = Fresh;
            }
            else
            {
                Drain();
                int got = DirectIo.ReadAt(_file, block, start, _name);
                block[got..].Clear();
                slot.State[b] = Loaded;
            }
            if (b < slot.Lo) slot.Lo = b;
            if (b > slot.Hi) slot.Hi = b;
        }
    }

    private void MoveTo(long start)
    {
        if (_slot != null)
        {
            if (_slot.Hi >= 0) Submit(_slot);
            else _free.Add(_slot);
        }
        _slot = _free.Take();
        _slot.Start = start;
    }

    private void Submit(Slot slot)
    {
        if (slot.Hi < 0) { _free.Add(slot); return; }
        _untouchedFrom = Math.Max(_untouchedFrom, slot.Start + (long)(slot.Hi + 1) * Block);
        lock (_gate) _pending++;
        _jobs.Add(slot);
    }

    private void Drain()
    {
        lock (_gate)
            while (_pending > 0) Monitor.Wait(_gate);
        _failure?.Throw();
    }

    private void WriteLoop()
    {
        foreach (var slot in _jobs.GetConsumingEnumerable())
        {
            try
            {
                if (_failure is null) WriteSlot(slot);
            }
            catch (Exception e)
            {
                _failure = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                Array.Clear(slot.State);
                slot.Lo = int.MaxValue; slot.Hi = -1;
                _free.Add(slot);
                lock (_gate) { _pending--; Monitor.PulseAll(_gate); }
            }
        }
    }

    /// <summary>Writes the chunk's blocks that need it as few runs: every block read back, and every new block that is not all zeros.</summary>
    private void WriteSlot(Slot slot)
    {
        var buffer = slot.Buffer.Span;
        int b = slot.Lo;
        while (b <= slot.Hi)
        {
            if (!NeedsWrite(slot, buffer, b)) { b++; continue; }
            int end = b + 1;
            while (end <= slot.Hi && NeedsWrite(slot, buffer, end)) end++;
            DirectIo.WriteAll(_file, buffer.Slice(b * Block, (end - b) * Block), slot.Start + (long)b * Block, _name);
            b = end;
        }
    }

    private static bool NeedsWrite(Slot slot, Span<byte> buffer, int b) => slot.State[b] switch
    {
        Loaded => true,
        Fresh => buffer.Slice(b * Block, Block).ContainsAnyExcept((byte)0),
        _ => false,
    };
}
