// zlib with a preset dictionary (libz.so.1), for SPDY header blocks: one inflate and one deflate context per session.
using System.Runtime.InteropServices;

namespace Appliance.ClusterRuntime.Spdy;

/// <summary>
/// One direction of a SPDY session's header compression (SPDY/3 §2.6.10.1): a single zlib stream for the whole
/// session, primed with <see cref="SpdyDictionary.Bytes"/>, each header block ended with a sync flush. .NET's
/// ZLibStream cannot take a preset dictionary, so this calls the system zlib (Debian's zlib1g).
/// </summary>
internal sealed class HeaderZlib : IDisposable
{
    const int ZOk = 0, ZStreamEnd = 1, ZNeedDict = 2, ZBufError = -5, ZSyncFlush = 2;
    const int DefaultLevel = -1;
    readonly bool _inflate;
    readonly IntPtr _stream;
    readonly byte[] _dictionary = GC.AllocateArray<byte>(SpdyDictionary.Bytes.Length, pinned: true);
    bool _disposed;

    // z_stream (zlib.h); Sequential layout gives each platform's padding, CULong its uLong size.
    [StructLayout(LayoutKind.Sequential)]
    struct ZStream
    {
        public IntPtr NextIn;
        public uint AvailIn;
        public CULong TotalIn;
        public IntPtr NextOut;
        public uint AvailOut;
        public CULong TotalOut;
        public IntPtr Msg;
        public IntPtr State;
        public IntPtr ZAlloc, ZFree, Opaque;
        public int DataType;
        public CULong Adler, Reserved;
    }

    static readonly int NextIn = (int)Marshal.OffsetOf<ZStream>(nameof(ZStream.NextIn));
    static readonly int AvailIn = (int)Marshal.OffsetOf<ZStream>(nameof(ZStream.AvailIn));
    static readonly int NextOut = (int)Marshal.OffsetOf<ZStream>(nameof(ZStream.NextOut));
    static readonly int AvailOut = (int)Marshal.OffsetOf<ZStream>(nameof(ZStream.AvailOut));
    static readonly int Msg = (int)Marshal.OffsetOf<ZStream>(nameof(ZStream.Msg));

    HeaderZlib(bool inflate)
    {
        _inflate = inflate;
        SpdyDictionary.Bytes.CopyTo(_dictionary, 0);
        var size = Marshal.SizeOf<ZStream>();
        _stream = Marshal.AllocHGlobal(size);
        Marshal.StructureToPtr(new ZStream(), _stream, false);
        var version = zlibVersion();
        var rc = inflate ? inflateInit_(_stream, version, size) : deflateInit_(_stream, DefaultLevel, version, size);
        if (rc != ZOk)
        {
            Marshal.FreeHGlobal(_stream);
            throw new InvalidOperationException($"zlib {(inflate ? "inflateInit" : "deflateInit")} failed ({rc})");
        }
        if (!inflate) Check(deflateSetDictionary(_stream, Pin(_dictionary), (uint)_dictionary.Length), "deflateSetDictionary");
    }

    /// <summary>The receiving side's context.</summary>
    public static HeaderZlib ForInflate() => new(true);

    /// <summary>The sending side's context.</summary>
    public static HeaderZlib ForDeflate() => new(false);

    /// <summary>Decompresses one header block (a continuation of the session's zlib stream).</summary>
    public byte[] Inflate(ReadOnlySpan<byte> block)
    {
        var input = GC.AllocateArray<byte>(Math.Max(block.Length, 1), pinned: true);
        block.CopyTo(input);
        var output = new MemoryStream();
        var buffer = GC.AllocateArray<byte>(16 * 1024, pinned: true);
        Marshal.WriteIntPtr(_stream, NextIn, Pin(input));
        Marshal.WriteInt32(_stream, AvailIn, block.Length);
        while (true)
        {
            Marshal.WriteIntPtr(_stream, NextOut, Pin(buffer));
            Marshal.WriteInt32(_stream, AvailOut, buffer.Length);
            var rc = inflate(_stream, ZSyncFlush);
            if (rc == ZNeedDict)
            {
                Check(inflateSetDictionary(_stream, Pin(_dictionary), (uint)_dictionary.Length), "the SPDY header dictionary");
                continue;
            }
            var produced = buffer.Length - Marshal.ReadInt32(_stream, AvailOut);
            output.Write(buffer, 0, produced);
            if (rc is not (ZOk or ZBufError or ZStreamEnd)) Check(rc, "inflate of a header block");
            if (Marshal.ReadInt32(_stream, AvailIn) == 0 && produced < buffer.Length) break;
            if (rc == ZStreamEnd) break;
            if (rc == ZBufError && produced == 0) break;
        }
        GC.KeepAlive(input);
        return output.ToArray();
    }

    /// <summary>Compresses one header block and sync-flushes it, so the peer can decode it alone.</summary>
    public byte[] Deflate(ReadOnlySpan<byte> block)
    {
        var input = GC.AllocateArray<byte>(Math.Max(block.Length, 1), pinned: true);
        block.CopyTo(input);
        var output = new MemoryStream();
        var buffer = GC.AllocateArray<byte>(block.Length + 1024, pinned: true);
        Marshal.WriteIntPtr(_stream, NextIn, Pin(input));
        Marshal.WriteInt32(_stream, AvailIn, block.Length);
        while (true)
        {
            Marshal.WriteIntPtr(_stream, NextOut, Pin(buffer));
            Marshal.WriteInt32(_stream, AvailOut, buffer.Length);
            var rc = deflate(_stream, ZSyncFlush);
            if (rc is not (ZOk or ZBufError)) Check(rc, "deflate of a header block");
            var left = Marshal.ReadInt32(_stream, AvailOut);
            output.Write(buffer, 0, buffer.Length - left);
            if (left > 0) break; // a sync flush that did not fill the buffer is complete
        }
        GC.KeepAlive(input);
        return output.ToArray();
    }

    void Check(int rc, string what)
    {
        if (rc == ZOk) return;
        var msg = Marshal.ReadIntPtr(_stream, Msg);
        var text = msg == IntPtr.Zero ? $"zlib error {rc}" : Marshal.PtrToStringAnsi(msg);
        throw new InvalidDataException($"SPDY header compression: {what}: {text}");
    }

    static IntPtr Pin(byte[] pinned) => Marshal.UnsafeAddrOfPinnedArrayElement(pinned, 0);

    /// <summary>Frees zlib's state.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_inflate) inflateEnd(_stream); else deflateEnd(_stream);
        Marshal.FreeHGlobal(_stream);
    }

    const string Lib = "libz.so.1";
    [DllImport(Lib)] static extern IntPtr zlibVersion();
    [DllImport(Lib)] static extern int inflateInit_(IntPtr strm, IntPtr version, int streamSize);
    [DllImport(Lib)] static extern int inflateSetDictionary(IntPtr strm, IntPtr dictionary, uint length);
    [DllImport(Lib)] static extern int inflate(IntPtr strm, int flush);
    [DllImport(Lib)] static extern int inflateEnd(IntPtr strm);
    [DllImport(Lib)] static extern int deflateInit_(IntPtr strm, int level, IntPtr version, int streamSize);
    [DllImport(Lib)] static extern int deflateSetDictionary(IntPtr strm, IntPtr dictionary, uint length);
    [DllImport(Lib)] static extern int deflate(IntPtr strm, int flush);
    [DllImport(Lib)] static extern int deflateEnd(IntPtr strm);
}
