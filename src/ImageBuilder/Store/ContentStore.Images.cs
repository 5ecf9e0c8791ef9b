// Store queries and edits: resolve a reference (and a platform), list, remove.
using Appliance.ImageBuilder.Oci;

namespace Appliance.ImageBuilder.Store;

/// <summary>What `store ls` shows for one index entry.</summary>
public sealed record StoreImageInfo(string? Name, string? Tag, string Digest, string MediaType, long Size, IReadOnlyList<string> Platforms);

public sealed partial class ContentStore
{
    /// <summary>The index entries a reference names (name:tag, name@digest, or sha256:...); throws when none.</summary>
    public IReadOnlyList<Descriptor> Find(string reference)
    {
        ImageReference r;
        try
        {
            r = ImageReference.Parse(reference);
        }
        catch (FormatException e)
        {
            throw new UserInputException(e.Message);
        }
        var found = StoreIndex.Find(ReadIndex(), r);
        if (found.Count == 0 && r.Digest is { } d && r.Name is null && HasBlob(d))
            found = [BareDescriptor(d)];
        if (found.Count == 0)
            throw new UserInputException($"no image '{reference}' in the store {Root} (see 'appliance store ls')");
        return found;
    }

    private Descriptor BareDescriptor(Digest d)
    {
        var len = new FileInfo(BlobPath(d)).Length;
        var bytes = len <= OciJson.MaxDocumentSize ? File.ReadAllBytes(BlobPath(d)) : [];
        ImageManifest? doc = null;
        try
        {
            doc = OciJson.Deserialize<ImageManifest>(bytes, $"{Root}: blob {d}");
        }
        catch (InvalidDataException)
        {
        }
        var isIndex = bytes.AsSpan().IndexOf("\"manifests\""u8) >= 0;
        var isManifest = bytes.AsSpan().IndexOf("\"layers\""u8) >= 0;
        if (doc is null || (!isIndex && !isManifest))
            throw new UserInputException($"{d} is in the store, but it is not an image manifest or index");
        return new Descriptor { MediaType = doc.MediaType ?? (isIndex ? MediaTypes.OciIndex : MediaTypes.OciManifest), Digest = d.ToString(), Size = len };
    }

    /// <summary>Resolves <paramref name="reference"/> to the manifest for <paramref name="platform"/>.</summary>
    public ResolvedImage Resolve(string reference, Platform platform)
    {
        var entry = Find(reference)[0];
        return Resolve(entry, platform, StoreIndex.NameOf(entry) ?? reference);
    }

    /// <summary>Resolves an index entry to the manifest for <paramref name="platform"/>; an index is searched by platform.</summary>
    public ResolvedImage Resolve(Descriptor entry, Platform platform, string display)
    {
        var desc = entry;
        for (int depth = 0; MediaTypes.IsIndex(desc.MediaType); depth++)
        {
            if (depth > 4)
                throw new InvalidDataException($"image {display}: indexes nest more than 4 deep");
            var idx = ImageIndex.Parse(ReadBlob(desc, display), $"{Root}: blob {desc.Digest}");
            desc = PlatformSelector.Select(idx, platform, display);
        }
        if (!MediaTypes.IsManifest(desc.MediaType))
            throw new InvalidDataException($"image {display}: unknown media type '{desc.MediaType}'");
        var m = ImageManifest.Parse(ReadBlob(desc, display), $"{Root}: blob {desc.Digest}");
        var cfg = ImageConfig.Parse(ReadBlob(m.Config!, display + " config"), $"{Root}: blob {m.Config!.Digest}");
        if (!platform.Matches(cfg.Platform))
            throw new PlatformNotFoundException($"image {display} is for {cfg.Platform}, not {platform}");
        return new ResolvedImage(StoreIndex.NameOf(entry), desc, m, cfg);
    }

    /// <summary>Every entry of index.json with its platforms and total size.</summary>
    public IReadOnlyList<StoreImageInfo> List()
    {
        var result = new List<StoreImageInfo>();
        foreach (var e in ReadIndex().Manifests)
        {
            var name = StoreIndex.NameOf(e);
            string? repo = null, tag = null;
            if (name != null && ImageReference.TryParse(name, out var r, out _))
                (repo, tag) = (r!.Name, r.Tag);
            var blobs = new Dictionary<string, long>(StringComparer.Ordinal);
            var platforms = new List<string>();
            Reachable(e, blobs, platforms, null);
            result.Add(new StoreImageInfo(repo, tag, e.Digest, e.MediaType, blobs.Values.Sum(), platforms));
        }
        return result;
    }

    /// <summary>
    /// Adds every blob reachable from <paramref name="desc"/> to <paramref name="blobs"/> (digest to size) and the
    /// platforms of its manifests to <paramref name="platforms"/>. Problems go to <paramref name="problems"/> when given;
    /// otherwise they throw.
    /// </summary>
    internal void Reachable(Descriptor desc, Dictionary<string, long> blobs, List<string>? platforms, List<string>? problems, int depth = 0)
    {
        if (!blobs.TryAdd(desc.Digest, desc.Size) || depth > 4)
            return;
        try
        {
            if (MediaTypes.IsIndex(desc.MediaType))
            {
                var idx = ImageIndex.Parse(ReadBlob(desc, desc.Digest), $"{Root}: blob {desc.Digest}");
                foreach (var c in idx.Manifests)
                    Reachable(c, blobs, platforms, problems, depth + 1);
            }
            else if (MediaTypes.IsManifest(desc.MediaType))
            {
                var m = ImageManifest.Parse(ReadBlob(desc, desc.Digest), $"{Root}: blob {desc.Digest}");
                blobs.TryAdd(m.Config!.Digest, m.Config.Size);
                if (platforms != null && MediaTypes.IsConfig(m.Config.MediaType))
                {
                    var cfg = ImageConfig.Parse(ReadBlob(m.Config, m.Config.Digest), $"{Root}: blob {m.Config.Digest}");
                    if (cfg.Os is { Length: > 0 } && cfg.Os != "unknown")
                        platforms.Add(cfg.Platform.ToString());
                }
                else if (problems != null && !HasBlob(m.Config.ParsedDigest($"{Root}: blob {desc.Digest} $.config")))
                    problems.Add($"blob {m.Config.Digest} (config of {desc.Digest}) is missing");
                foreach (var l in m.Layers!)
                {
                    blobs.TryAdd(l.Digest, l.Size);
                    if (problems != null && Oci.Digest.TryParse(l.Digest, out var ld))
                    {
                        if (!HasBlob(ld))
                            problems.Add($"blob {l.Digest} (layer of {desc.Digest}) is missing");
                        else if (new FileInfo(BlobPath(ld)).Length != l.Size)
                            problems.Add($"blob {l.Digest} is {new FileInfo(BlobPath(ld)).Length} bytes, but manifest {desc.Digest} says {l.Size}");
                    }
                }
            }
        }
        catch (InvalidDataException e) when (problems != null)
        {
            problems.Add(e.Message);
        }
    }

    /// <summary>Removes the entries <paramref name="reference"/> names from index.json; blobs stay until <see cref="Gc"/>.</summary>
    public IReadOnlyList<Descriptor> Remove(string reference)
    {
        using var _ = Lock();
        var index = ReadIndex();
        var r = ImageReference.Parse(reference);
        var gone = StoreIndex.Find(index, r);
        if (gone.Count == 0)
            throw new UserInputException($"no image '{reference}' in the store {Root} (see 'appliance store ls')");
        var keep = index.Manifests.Where(e => !gone.Contains(e)).ToList();
        WriteIndex(index with { Manifests = StoreIndex.Sorted(keep) });
        return gone;
    }
}
