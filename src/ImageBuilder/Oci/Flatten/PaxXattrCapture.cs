// Keeps the raw bytes of PAX SCHILY.xattr.* records, which the BCL tar reader decodes as UTF-8 and so can mangle.
using System.Buffers.Binary;
using System.Text;
using Appliance.ImageBuilder.IO;

namespace Appliance.ImageBuilder.Oci.Flatten;

/// <summary>
/// A pass-through stream that parses the tar headers going by (POSIX.1-2001 pax, ustar, GNU long names) alongside
/// <see cref="System.Formats.Tar.TarReader"/>, and queues, for every entry the reader will return, the raw values
/// of its <c>SCHILY.xattr.*</c> records. Binary xattrs such as <c>security.capability</c> survive that way.
/// If a header's checksum does not hold, the capture stops (<see cref="Reliable"/> turns false) and callers fall
/// back to the reader's decoded strings.
/// </summary>
internal sealed class PaxXattrCapture(Stream inner) : ReadOnlyStream
{
    // ustar header fields (POSIX.1-1988 "ustar Interchange Format"): offsets from the field lengths.
    private const int SizeOffset = 100 + 8 + 8 + 8;          // name, mode, uid, gid
    private const int SizeLength = 12;
    private const int ChecksumOffset = SizeOffset + SizeLength + 12; // size, mtime
    private const int ChecksumLength = 8;
    private const int TypeFlagOffset = ChecksumOffset + ChecksumLength;
    private const int Block = 512;

    private readonly byte[] _header = new byte[Block];
    private int _headerFill;
    private long _skip;              // bytes of data (and padding) still to pass
    private MemoryStream? _pax;      // collecting a pax 'x' record block
    private long _paxLeft;
    private long _paxPad;
    private Dictionary<string, byte[]>? _pending;
    private long? _pendingSize;

    /// <summary>Raw xattrs per returned entry, in order.</summary>
    public Queue<Dictionary<string, byte[]>> Entries { get; } = new();

    /// <summary>False once the capture lost track of the headers.</summary>
    public bool Reliable { get; private set; } = true;

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        if (Reliable)
            Observe(buffer[..n]);
        return n;
    }

    private void Observe(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0 && Reliable)
        {
            if (_pax != null)
            {
                var take = (int)Math.Min(_paxLeft, data.Length);
                _pax.Write(data[..take]);
                _paxLeft -= take;
                data = data[take..];
                if (_paxLeft == 0)
                {
                    ParsePax(_pax.ToArray());
                    _pax = null;
                    _skip = _paxPad;
                }
                continue;
            }
            if (_skip > 0)
            {
                var take = (int)Math.Min(_skip, data.Length);
                _skip -= take;
                data = data[take..];
                continue;
            }
            var h = Math.Min(Block - _headerFill, data.Length);
            data[..h].CopyTo(_header.AsSpan(_headerFill));
            _headerFill += h;
            data = data[h..];
            if (_headerFill == Block)
            {
                _headerFill = 0;
                Header();
            }
        }
    }

    private void Header()
    {
        var hdr = _header.AsSpan();
        if (!hdr.ContainsAnyExcept((byte)0))
            return; // end-of-archive block
        if (!ChecksumHolds(hdr))
        {
            Reliable = false;
            return;
        }
        var size = ParseNumber(hdr.Slice(SizeOffset, SizeLength));
        var type = (char)hdr[TypeFlagOffset];
        var padded = (size + Block - 1) / Block * Block;
        switch (type)
        {
            case 'x':
                _pax = new MemoryStream();
                _paxLeft = size;
                _paxPad = padded - size;
                if (size == 0) { _pax = null; _skip = 0; }
                return;
            case 'L' or 'K':
                _skip = padded;
                return;
            case 'g':
                Entries.Enqueue([]); // the reader returns global headers as entries
                _skip = padded;
                return;
            default:
                if (_pendingSize is { } ps)
                    padded = (ps + Block - 1) / Block * Block;
                Entries.Enqueue(_pending ?? []);
                _pending = null;
                _pendingSize = null;
                // Only regular files carry data that the reader skips; links, directories and devices carry none.
                _skip = type is '0' or '\0' or '7' ? padded : 0;
                return;
        }
    }

    private void ParsePax(byte[] block)
    {
        var span = block.AsSpan();
        while (span.Length > 0)
        {
            var sp = span.IndexOf((byte)' ');
            if (sp <= 0 || !int.TryParse(Encoding.ASCII.GetString(span[..sp]), out var len) || len > span.Length || len <= sp + 1)
            {
                Reliable = false;
                return;
            }
            var record = span[(sp + 1)..(len - 1)]; // drop the trailing newline
            var eq = record.IndexOf((byte)'=');
            if (eq > 0)
            {
                var key = Encoding.UTF8.GetString(record[..eq]);
                var value = record[(eq + 1)..];
                if (key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal))
                    (_pending ??= [])[key[13..]] = value.ToArray();
                else if (key == "size" && long.TryParse(Encoding.ASCII.GetString(value), out var sz))
                    _pendingSize = sz;
            }
            span = span[len..];
        }
    }

    private static bool ChecksumHolds(ReadOnlySpan<byte> hdr)
    {
        long sum = 0;
        for (int i = 0; i < Block; i++)
            sum += i is >= ChecksumOffset and < ChecksumOffset + ChecksumLength ? (byte)' ' : hdr[i];
        return ParseNumber(hdr.Slice(ChecksumOffset, ChecksumLength)) == sum;
    }

    /// <summary>Octal digits (NUL/space terminated), or GNU base-256 when the top bit of the first byte is set.</summary>
    private static long ParseNumber(ReadOnlySpan<byte> field)
    {
        if ((field[0] & 0x80) != 0)
        {
            Span<byte> tail = stackalloc byte[8];
            field[^8..].CopyTo(tail);
            return BinaryPrimitives.ReadInt64BigEndian(tail) & long.MaxValue;
        }
        long v = 0;
        foreach (var b in field)
        {
            if (b is (byte)' ' or 0)
            {
                if (v != 0) break;
                continue;
            }
            if (b is < (byte)'0' or > (byte)'7') return -1;
            v = v * 8 + (b - '0');
        }
        return v;
    }

    public override bool CanSeek => inner.CanSeek;
    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => Seek(value, SeekOrigin.Begin);
    }

    /// <summary>
    /// On a seekable layer the reader seeks over file data instead of reading it; a forward seek inside the data
    /// (and padding) being skipped keeps the capture in step, anything else ends it.
    /// </summary>
    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => inner.Position + offset,
            _ => inner.Length + offset,
        };
        var delta = target - inner.Position;
        if (delta != 0)
        {
            if (delta > 0 && _pax is null && _headerFill == 0 && delta <= _skip)
                _skip -= delta;
            else
                Reliable = false;
        }
        return inner.Seek(target, SeekOrigin.Begin);
    }

}
