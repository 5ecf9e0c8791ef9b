// Applies an image's layers in order (image-spec layer.md "Applying Changesets", whiteouts) into one FsNode tree.
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Appliance.ImageBuilder.Oci.Flatten;

/// <summary>One layer to apply: its blob on disk and how it is compressed.</summary>
/// <param name="BlobPath">The layer blob.</param>
/// <param name="Compression">Its compression.</param>
/// <param name="Name">Used in messages (the digest).</param>
public sealed record FlattenLayer(string BlobPath, LayerCompression Compression, string Name);

/// <summary>
/// Flattens layers into a <see cref="FlatTree"/>. Whiteouts (<c>.wh.NAME</c>) delete what lower layers made;
/// an opaque marker (<c>.wh..wh..opq</c>) empties its directory of everything lower layers put there. Hard links
/// share one <see cref="FsNode"/>. Directories in a path that lower layers made symlinks are followed inside the
/// image root, as containerd does. Contents are never held in memory: a plain tar's files point into the blob, and
/// files from compressed layers are copied to one spool file.
/// PAX <c>SCHILY.xattr.*</c> values are taken byte for byte from the raw records (<see cref="PaxXattrCapture"/>),
/// since the BCL reader decodes them as UTF-8; <c>LIBARCHIVE.xattr.*</c> (base64) values are decoded.
/// </summary>
public static class LayerFlattener
{
    /// <summary>Applies <paramref name="layers"/> (lowest first); the spool file, if needed, goes in <paramref name="spoolDirectory"/>.</summary>
    public static FlatTree Flatten(IReadOnlyList<FlattenLayer> layers, string spoolDirectory)
    {
        var root = FsNode.NewDirectory();
        var spoolPath = Path.Combine(spoolDirectory, "flatten-" + Guid.NewGuid().ToString("N") + ".spool");
        FileStream? spool = null;
        try
        {
            foreach (var layer in layers)
            {
                var applier = new Applier(root, layer, () => spool ??= new FileStream(spoolPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 1 << 16), spoolPath);
                applier.Apply();
            }
            spool?.Flush();
            spool?.Dispose();
            return new FlatTree(root, spool is null ? null : spoolPath);
        }
        catch
        {
            spool?.Dispose();
            if (File.Exists(spoolPath))
                File.Delete(spoolPath);
            throw;
        }
    }

    private sealed class Applier(FsNode root, FlattenLayer layer, Func<FileStream> spool, string spoolPath)
    {
        private readonly HashSet<FsNode> _added = new(ReferenceEqualityComparer.Instance);
        private PaxXattrCapture? _capture;
        private Dictionary<string, byte[]>? _raw;
        private string Where(TarEntry e) => $"layer {layer.Name}: entry '{e.Name}'";

        public void Apply()
        {
            using var file = new FileStream(layer.BlobPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            Stream s = layer.Compression switch
            {
                LayerCompression.Gzip => new GZipStream(file, CompressionMode.Decompress, leaveOpen: true),
                LayerCompression.Zstd => new ZstdSharp.DecompressionStream(file, leaveOpen: true),
                _ => file,
            };
            using (s)
            {
                _capture = new PaxXattrCapture(s);
                using var reader = new TarReader(_capture, leaveOpen: true);
                TarEntry? e;
                while ((e = Next(reader)) != null)
                {
                    _raw = _capture.Reliable && _capture.Entries.TryDequeue(out var raw) ? raw : null;
                    Entry(e);
                }
            }
        }

        private TarEntry? Next(TarReader reader)
        {
            try
            {
                return reader.GetNextEntry(copyData: false);
            }
            catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException or FormatException)
            {
                throw new InvalidDataException($"layer {layer.Name}: corrupt or truncated tar ({ex.Message})", ex);
            }
        }

        private void Entry(TarEntry e)
        {
            if (e.EntryType == TarEntryType.GlobalExtendedAttributes)
                return;
            var path = EntryName.Normalize(e.Name, $"layer {layer.Name}");
            if (path.Length == 0)
            {
                if (e.EntryType == TarEntryType.Directory)
                    SetMeta(root, e);
                return;
            }
            var slash = path.LastIndexOf('/');
            var parentPath = slash < 0 ? "" : path[..slash];
            var name = path[(slash + 1)..];
            if (name.StartsWith(".wh.", StringComparison.Ordinal))
            {
                var dir = ResolveDir(parentPath, create: false, e);
                if (dir is null)
                    return;
                if (name == ".wh..wh..opq")
                {
                    var children = dir.Children!;
                    foreach (var child in children.Where(c => !_added.Contains(c.Value)).Select(c => c.Key).ToList())
                        children.Remove(child);
                }
                else
                {
                    dir.Children!.Remove(name[4..]);
                }
                return;
            }
            var parent = ResolveDir(parentPath, create: true, e)!;
            parent.Children!.TryGetValue(name, out var existing);
            FsNode node;
            switch (e.EntryType)
            {
                case TarEntryType.Directory:
                    node = existing is { Kind: FsNodeKind.Directory } ? existing : FsNode.NewDirectory();
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    node = new FsNode(FsNodeKind.File) { Content = Store(e) };
                    break;
                case TarEntryType.SymbolicLink:
                    node = new FsNode(FsNodeKind.Symlink) { LinkTarget = e.LinkName };
                    break;
                case TarEntryType.HardLink:
                    var target = EntryName.Normalize(e.LinkName, Where(e));
                    var ts = target.LastIndexOf('/');
                    var tdir = ResolveDir(ts < 0 ? "" : target[..ts], create: false, e);
                    if (tdir is null || !tdir.Children!.TryGetValue(target[(ts + 1)..], out var linked) || linked.Kind == FsNodeKind.Directory)
                        throw new InvalidDataException($"{Where(e)}: hard link target '{e.LinkName}' is not a file in the image");
                    parent.Children[name] = linked;
                    _added.Add(linked);
                    return;
                case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                    var p = (PosixTarEntry)e;
                    node = new FsNode(e.EntryType switch
                    {
                        TarEntryType.CharacterDevice => FsNodeKind.CharDevice,
                        TarEntryType.BlockDevice => FsNodeKind.BlockDevice,
                        _ => FsNodeKind.Fifo,
                    })
                    { DeviceMajor = p.DeviceMajor, DeviceMinor = p.DeviceMinor };
                    break;
                default:
                    throw new InvalidDataException($"{Where(e)}: unsupported tar entry type {e.EntryType}");
            }
            SetMeta(node, e);
            parent.Children[name] = node;
            _added.Add(node);
        }

        private FileContent Store(TarEntry e)
        {
            if (layer.Compression == LayerCompression.None && e.DataOffset >= 0)
                return new FileContent(layer.BlobPath, e.DataOffset, e.Length);
            var f = spool();
            var start = f.Position;
            e.DataStream?.CopyTo(f, 1 << 16);
            var length = f.Position - start;
            if (length != e.Length)
                throw new InvalidDataException($"{Where(e)}: holds {length} bytes, but its header says {e.Length}");
            return new FileContent(spoolPath, start, length);
        }

        private void SetMeta(FsNode node, TarEntry e)
        {
            node.Mode = (int)e.Mode & 0xFFF;
            node.Uid = e.Uid;
            node.Gid = e.Gid;
            node.ModificationTime = e.ModificationTime;
            node.Xattrs.Clear();
            if (e is PaxTarEntry pax)
                foreach (var (key, value) in pax.ExtendedAttributes)
                {
                    if (key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal))
                    {
                        if (_capture is { Reliable: true } && _raw != null && _raw.TryGetValue(key[13..], out var bytes))
                            node.Xattrs[key[13..]] = bytes;
                        else if (value.Contains('\uFFFD'))
                            throw new InvalidDataException($"{Where(e)}: xattr '{key[13..]}' has a binary value that could not be read byte for byte");
                        else
                            node.Xattrs[key[13..]] = Encoding.UTF8.GetBytes(value);
                    }
                    else if (key.StartsWith("LIBARCHIVE.xattr.", StringComparison.Ordinal))
                    {
                        try
                        {
                            node.Xattrs[Uri.UnescapeDataString(key[17..])] = Convert.FromBase64String(value);
                        }
                        catch (FormatException)
                        {
                            throw new InvalidDataException($"{Where(e)}: PAX record {key} is not base64");
                        }
                    }
                }
        }

        /// <summary>Walks to a directory, following symlinks inside the image root; creates missing ones when asked.</summary>
        private FsNode? ResolveDir(string path, bool create, TarEntry e)
        {
            var pending = new Stack<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
            var trail = new List<FsNode> { root };
            int hops = 0;
            while (pending.Count > 0)
            {
                var part = pending.Pop();
                var cur = trail[^1];
                if (part == ".")
                    continue;
                if (part == "..")
                {
                    if (trail.Count > 1)
                        trail.RemoveAt(trail.Count - 1);
                    continue;
                }
                if (!cur.Children!.TryGetValue(part, out var child))
                {
                    if (!create)
                        return null;
                    child = FsNode.NewDirectory();
                    cur.Children[part] = child;
                }
                if (child.Kind == FsNodeKind.Symlink)
                {
                    if (++hops > 40)
                        throw new InvalidDataException($"{Where(e)}: too many levels of symbolic links in '{path}'");
                    var t = child.LinkTarget ?? "";
                    if (t.StartsWith('/'))
                        trail.RemoveRange(1, trail.Count - 1);
                    foreach (var tp in t.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse())
                        pending.Push(tp);
                    continue;
                }
                if (child.Kind != FsNodeKind.Directory)
                {
                    if (!create)
                        return null;
                    child = FsNode.NewDirectory();
                    cur.Children[part] = child;
                }
                trail.Add(child);
            }
            return trail[^1];
        }
    }
}
