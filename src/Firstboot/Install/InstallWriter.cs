// Writes the raw image onto the target disk from the medium's payload, reads it back and checks it, tables last.
using System.Diagnostics;
using System.Security.Cryptography;
using Appliance.Firstboot.Disks;
using Microsoft.Win32.SafeHandles;

namespace Appliance.Firstboot.Install;

/// <summary>What the installer wrote.</summary>
/// <param name="Disk">The disk.</param>
/// <param name="BytesCopied">Bytes copied from the medium (regions and root-a's SquashFS).</param>
/// <param name="BytesChecked">Bytes read back and checked.</param>
/// <param name="Elapsed">The time it took.</param>
public sealed record InstallResult(string Disk, long BytesCopied, long BytesChecked, TimeSpan Elapsed);

/// <summary>
/// Reproduces the raw image on a disk, in an order that never leaves a half-written disk looking bootable:
/// <list type="number">
/// <item>the table regions and the disk's last MiB (a stale backup GPT) are zeroed;</item>
/// <item>the other regions, root-a's SquashFS and the zeros between them (BLKZEROOUT) are written, each region's
/// source bytes checked against layout.json as they are copied; fsync;</item>
/// <item>the kernel's cached pages are dropped and everything but the tables is read back: each region's SHA-256,
/// root-a's whole partition against the signed digest, and zeros elsewhere;</item>
/// <item>only then the tables are written, synced, dropped from the cache, read back and checked.</item>
/// </list>
/// A failure at any point leaves no partition table, so nothing boots from the disk. When root-a reads back wrong, the
/// medium's SquashFS is hashed to say which is at fault: the medium or the disk.
/// </summary>
public sealed class InstallWriter(InstallLayout layout, string medium, Action<string> log)
{
    private const int BufferBytes = 4 << 20;
    private readonly byte[] _buffer = new byte[BufferBytes];
    private long _copied, _checked;

    /// <summary>Writes and checks the image on <paramref name="disk"/> (<paramref name="diskBytes"/> long).</summary>
    /// <exception cref="InvalidDataException">The medium's payload is damaged (nothing bootable was written).</exception>
    /// <exception cref="IOException">The disk failed or read back wrong (nothing bootable was written).</exception>
    public InstallResult Write(string disk, long diskBytes)
    {
        var clock = Stopwatch.StartNew();
        CheckSources();
        using var stream = new FileStream(disk, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
        var h = stream.SafeFileHandle;
        var tables = layout.Regions.Where(r => r.IsTable).ToList();
        foreach (var r in tables) Zero(h, r.Offset, r.Length);
        long tail = Math.Max(layout.ImageSize, diskBytes - (1 << 20));
        Zero(h, tail, diskBytes - tail);
        stream.Flush(flushToDisk: true);
        log($"install: {disk}: partition table area and the disk's last {(diskBytes - tail) >> 10} KiB cleared");

        foreach (var r in layout.Regions.Where(r => !r.IsTable)) CopyRegion(h, r);
        var root = layout.RootA;
        Copy(h, root.File, root.Offset, root.FileLength, null, "root-a");
        foreach (var (start, end) in Gaps()) Zero(h, start, end - start);
        stream.Flush(flushToDisk: true);
        StopPoints.Reach("install:written");
        log($"install: {disk}: {_copied >> 20} MiB written and synced in {clock.Elapsed.TotalSeconds:0.0} s; reading it back");

        BlockDevices.DropCache(h);
        VerifyAllButTables(h, disk);
        foreach (var r in tables) CopyRegion(h, r);
        stream.Flush(flushToDisk: true);
        BlockDevices.DropCache(h);
        foreach (var r in tables) VerifyRegion(h, r, disk);
        log($"install: {disk}: partition table ({layout.PartitionTable}) written and read back");
        return new InstallResult(disk, _copied, _checked, clock.Elapsed);
    }

    /// <summary>Every file the layout names is on the medium with its length, before a byte is written.</summary>
    private void CheckSources()
    {
        foreach (var (file, length) in layout.Regions.Select(r => (r.File, r.Length)).Append((layout.RootA.File, layout.RootA.FileLength)))
        {
            var path = Path.Combine(medium, file);
            if (!File.Exists(path)) throw new InvalidDataException($"{path}: missing from the medium ({InstallLayout.FilePath} names it)");
            long actual = new FileInfo(path).Length;
            if (actual != length) throw new InvalidDataException($"{path}: {actual} bytes on the medium, {InstallLayout.FilePath} says {length}: the medium is damaged");
        }
    }

    /// <summary>The stretches of the image no region and no SquashFS byte covers: they must read as zeros.</summary>
    private List<(long Start, long End)> Gaps()
    {
        var covered = layout.Regions.Select(r => (r.Offset, r.End)).Append((layout.RootA.Offset, layout.RootA.Offset + layout.RootA.FileLength))
            .OrderBy(c => c.Item1).ToList();
        var gaps = new List<(long, long)>();
        long at = 0;
        foreach (var (start, end) in covered)
        {
            if (start > at) gaps.Add((at, start));
            at = Math.Max(at, end);
        }
        if (layout.ImageSize > at) gaps.Add((at, layout.ImageSize));
        return gaps;
    }

    private void CopyRegion(SafeFileHandle h, LayoutRegion r)
    {
        var got = Copy(h, r.File, r.Offset, r.Length, IncrementalHash.CreateHash(HashAlgorithmName.SHA256), r.Name);
        if (got is not null && got != r.Sha256)
            throw new InvalidDataException($"{Path.Combine(medium, r.File)}: SHA-256 {got}, {InstallLayout.FilePath} says {r.Sha256}: the medium is damaged; make it again");
    }

    /// <summary>Copies a medium file to the disk at <paramref name="offset"/>; with <paramref name="hash"/>, returns the SHA-256 of what was read.</summary>
    private string? Copy(SafeFileHandle h, string file, long offset, long length, IncrementalHash? hash, string what)
    {
        using var _ = hash;
        using var source = File.OpenHandle(Path.Combine(medium, file), FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        long done = 0, nextReport = length / 4;
        while (done < length)
        {
            int n = (int)Math.Min(BufferBytes, length - done);
            ReadFully(source, _buffer.AsSpan(0, n), done, file);
            hash?.AppendData(_buffer, 0, n);
            RandomAccess.Write(h, _buffer.AsSpan(0, n), offset + done);
            done += n;
            _copied += n;
            if (length >= 64 << 20 && done >= nextReport && done < length)
            {
                log($"install: {what}: {done * 100 / length}% ({done >> 20} of {length >> 20} MiB)");
                nextReport += length / 4;
            }
        }
        return hash is null ? null : Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void ReadFully(SafeFileHandle h, Span<byte> span, long offset, string what)
    {
        while (span.Length > 0)
        {
            int n = RandomAccess.Read(h, span, offset);
            if (n == 0) throw new EndOfStreamException($"{what}: ends early at byte {offset}");
            span = span[n..];
            offset += n;
        }
    }

    /// <summary>Zeroes a stretch: BLKZEROOUT over the whole sectors, written zeros for partial sectors and for a plain file.</summary>
    private void Zero(SafeFileHandle h, long start, long length)
    {
        if (length <= 0) return;
        long end = start + length, first = (start + 511) / 512 * 512, last = end / 512 * 512;
        if (first < last && BlockDevices.ZeroOut(h, first, last - first))
        {
            WriteZeros(h, start, first - start);
            WriteZeros(h, last, end - last);
        }
        else WriteZeros(h, start, length);
    }

    private static readonly byte[] Zeros = new byte[1 << 20];

    private static void WriteZeros(SafeFileHandle h, long start, long length)
    {
        for (long at = start; at < start + length; at += Zeros.Length)
            RandomAccess.Write(h, Zeros.AsSpan(0, (int)Math.Min(Zeros.Length, start + length - at)), at);
    }

    /// <summary>Reads back every byte of the image but the tables: regions by digest, root-a's partition by the signed digest, zeros elsewhere.</summary>
    private void VerifyAllButTables(SafeFileHandle h, string disk)
    {
        var root = layout.RootA;
        foreach (var r in layout.Regions.Where(r => !r.IsTable)) VerifyRegion(h, r, disk);
        var got = HashOf(h, root.Offset, root.Length);
        if (got != root.Sha256)
        {
            // Which is at fault? The medium's SquashFS followed by zeros is what root-a should hold.
            var source = MediumRootDigest();
            if (source != root.Sha256)
                throw new InvalidDataException($"the medium's {root.File} does not hold the signed root-a: the partition would have SHA-256 {source}, " +
                    $"the build's manifest says {root.Sha256}; the medium is damaged: make it again (no partition table was written to {disk})");
            throw new IOException($"root-a read back from {disk} has SHA-256 {got}, the build's manifest says {root.Sha256}, and the medium's copy is sound: " +
                $"the disk does not return what was written (no partition table was written to it)");
        }
        log($"install: root-a read back from {disk}: SHA-256 {got} as the build's manifest says");
        foreach (var (start, end) in Gaps())
        {
            // root-a's zero tail is in its digest already (a gap cannot reach into root-a from before it: the SquashFS starts it).
            long s = start, e = end, rootEnd = root.Offset + root.Length;
            if (s < rootEnd && e > root.Offset) s = rootEnd;
            if (e > s && FirstNonZero(h, s, e - s) is { } at)
                throw new IOException($"{disk}: byte {at} reads back non-zero after it was zeroed: the disk does not return what was written (no partition table was written to it)");
        }
    }

    private void VerifyRegion(SafeFileHandle h, LayoutRegion r, string disk)
    {
        var got = HashOf(h, r.Offset, r.Length);
        if (got != r.Sha256)
            throw new IOException($"{disk}: the {r.Name} region ({r.Length} bytes at {r.Offset}) reads back with SHA-256 {got}, not {r.Sha256}: " +
                "the disk does not return what was written");
    }

    private string HashOf(SafeFileHandle h, long offset, long length)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long done = 0; done < length;)
        {
            int n = (int)Math.Min(BufferBytes, length - done);
            ReadFully(h, _buffer.AsSpan(0, n), offset + done, "the disk");
            hash.AppendData(_buffer, 0, n);
            done += n;
            _checked += n;
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private long? FirstNonZero(SafeFileHandle h, long offset, long length)
    {
        for (long done = 0; done < length;)
        {
            int n = (int)Math.Min(BufferBytes, length - done);
            ReadFully(h, _buffer.AsSpan(0, n), offset + done, "the disk");
            int i = _buffer.AsSpan(0, n).IndexOfAnyExcept((byte)0);
            if (i >= 0) return offset + done + i;
            done += n;
            _checked += n;
        }
        return null;
    }

    /// <summary>SHA-256 of the medium's SquashFS followed by zeros to root-a's length: what the partition should hash to.</summary>
    private string MediumRootDigest()
    {
        var root = layout.RootA;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var f = File.OpenHandle(Path.Combine(medium, root.File), FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan))
            for (long done = 0; done < root.FileLength;)
            {
                int n = (int)Math.Min(BufferBytes, root.FileLength - done);
                ReadFully(f, _buffer.AsSpan(0, n), done, root.File);
                hash.AppendData(_buffer, 0, n);
                done += n;
            }
        for (long left = root.Length - root.FileLength; left > 0; left -= Zeros.Length) hash.AppendData(Zeros, 0, (int)Math.Min(Zeros.Length, left));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
