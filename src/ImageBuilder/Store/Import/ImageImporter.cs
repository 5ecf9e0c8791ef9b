// `store add`: reads an OCI layout, oci-archive or docker-save tar, checks everything, then commits in one step.
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Store.Sources;

namespace Appliance.ImageBuilder.Store.Import;

/// <summary>The images one add put in the store.</summary>
public sealed record ImportResult(string Source, IReadOnlyList<Descriptor> Entries);

/// <summary>
/// Adds images to a <see cref="ContentStore"/>. Every blob's size and digest is checked against its descriptor,
/// every layer is scanned (<see cref="LayerScanner"/>) and matched to the config's diff_ids, and only when all of
/// that holds are the blobs renamed into place and index.json replaced. Any failure leaves the store as it was.
/// </summary>
public sealed partial class ImageImporter(ContentStore store, ImportOptions options)
{
    /// <summary>Called before each layer is read, with a short description (for progress on a terminal).</summary>
    public Action<string>? Progress { get; init; }

    /// <summary>Adds the images at <paramref name="path"/> (a directory or a tar file).</summary>
    public ImportResult Add(string path)
    {
        Staging.CleanOrphans(store);
        _diffIds.Clear();
        using var src = ImageSource.Open(path, path);
        using var staging = new Staging(store);
        List<Descriptor> entries;
        if (src.Exists("index.json"))
            entries = AddOci(src, staging);
        else if (src.Exists("manifest.json"))
            entries = AddDocker(src, staging);
        else
            throw new InvalidDataException($"{path}: neither an OCI image layout (no index.json) nor a docker-save archive (no manifest.json)");
        if (options.Name is { } extra)
        {
            var distinct = entries.Select(e => e.Digest).Distinct().ToList();
            if (distinct.Count != 1)
                throw new UserInputException($"{path}: --name needs a source with exactly one image, and this one has {distinct.Count}");
            var r = ImageReference.Parse(extra);
            entries.Add(StoreIndex.Entry(entries[0], r.NameAndTag));
        }
        staging.Commit(entries);
        return new ImportResult(path, entries);
    }

    private List<Descriptor> AddOci(ImageSource src, Staging staging)
    {
        var layout = src.ReadAll("oci-layout", 4096);
        var version = OciJson.Deserialize<Dictionary<string, object>>(layout, $"{src.DisplayName}: oci-layout");
        if (!version.TryGetValue("imageLayoutVersion", out var v) || v?.ToString() != "1.0.0")
            throw new InvalidDataException($"{src.DisplayName}: oci-layout: imageLayoutVersion is '{v}', expected 1.0.0");
        var index = ImageIndex.Parse(src.ReadAll("index.json", OciJson.MaxDocumentSize), $"{src.DisplayName}: index.json");
        if (index.Manifests.Count == 0)
            throw new InvalidDataException($"{src.DisplayName}: index.json lists no images");
        var entries = new List<Descriptor>();
        for (int i = 0; i < index.Manifests.Count; i++)
        {
            var desc = index.Manifests[i];
            var where = $"{src.DisplayName}: index.json $.manifests[{i}]";
            Walk(src, staging, desc, where, 0);
            var name = NameFromAnnotations(desc, where);
            entries.Add(StoreIndex.Entry(desc, name));
        }
        return entries;
    }

    private static string? NameFromAnnotations(Descriptor desc, string where)
    {
        if (desc.Annotation(Annotations.ContainerdName) is { } full)
            return ParseName(full, Annotations.ContainerdName, where);
        if (desc.Annotation(Annotations.RefName) is { } refName && (refName.Contains('/') || refName.Contains(':')))
            return ParseName(refName, Annotations.RefName, where);
        return null; // a bare tag with no repository name: the image is kept by digest
    }

    private static string? ParseName(string text, string key, string where)
    {
        if (!ImageReference.TryParse(text, out var r, out var why))
            throw new InvalidDataException($"{where}: annotation {key} '{text}' is not a valid image reference: {why}");
        return r!.NameAndTag;
    }

    /// <summary>Checks and stages one descriptor and everything below it.</summary>
    private void Walk(ImageSource src, Staging staging, Descriptor desc, string where, int depth)
    {
        if (depth > 4)
            throw new InvalidDataException($"{where}: image indexes nest more than 4 deep");
        var d = desc.ParsedDigest(where);
        if (MediaTypes.IsIndex(desc.MediaType))
        {
            var bytes = ReadJsonBlob(src, staging, desc, d, where);
            var at = $"{src.DisplayName}: blob {d} (index)";
            var idx = ImageIndex.Parse(bytes, at);
            CheckDeclaredType(idx.MediaType, desc.MediaType, at);
            for (int i = 0; i < idx.Manifests.Count; i++)
                Walk(src, staging, idx.Manifests[i], $"{at} $.manifests[{i}]", depth + 1);
        }
        else if (MediaTypes.IsManifest(desc.MediaType))
        {
            var bytes = ReadJsonBlob(src, staging, desc, d, where);
            var at = $"{src.DisplayName}: blob {d} (manifest)";
            var m = ImageManifest.Parse(bytes, at);
            CheckDeclaredType(m.MediaType, desc.MediaType, at);
            AddManifestContent(src, staging, m, at, desc.Annotation("vnd.docker.reference.type") == "attestation-manifest");
        }
        else
        {
            throw new InvalidDataException($"{where}: unknown media type '{desc.MediaType}' (expected an OCI or Docker image manifest or index)");
        }
    }

    private static void CheckDeclaredType(string? inDocument, string declared, string where)
    {
        if (inDocument != null && inDocument != declared)
            throw new InvalidDataException($"{where}: $.mediaType is '{inDocument}', but the descriptor says '{declared}'");
    }

    private void AddManifestContent(ImageSource src, Staging staging, ImageManifest m, string at, bool attestation)
    {
        var cfgDesc = m.Config!;
        var cfgWhere = $"{at} $.config";
        var cfgDigest = cfgDesc.ParsedDigest(cfgWhere);
        if (!MediaTypes.IsConfig(cfgDesc.MediaType) && !attestation)
            throw new InvalidDataException($"{cfgWhere}: unknown config media type '{cfgDesc.MediaType}'");
        var cfgBytes = ReadJsonBlob(src, staging, cfgDesc, cfgDigest, cfgWhere);
        if (attestation)
        {
            for (int i = 0; i < m.Layers!.Count; i++)
                StageOpaque(src, staging, m.Layers[i], $"{at} $.layers[{i}]");
            return;
        }
        var config = ImageConfig.Parse(cfgBytes, $"{src.DisplayName}: blob {cfgDigest} (config)");
        var diffIds = config.RootFs?.DiffIds ?? [];
        if (diffIds.Count != m.Layers!.Count)
            throw new InvalidDataException($"{src.DisplayName}: blob {cfgDigest} (config): $.rootfs.diff_ids has {diffIds.Count} entries, but the manifest has {m.Layers.Count} layers");
        for (int i = 0; i < m.Layers.Count; i++)
        {
            var layerWhere = $"{at} $.layers[{i}]";
            var diffId = Digest.Parse(diffIds[i], $"{src.DisplayName}: blob {cfgDigest} (config) $.rootfs.diff_ids[{i}]");
            AddLayer(src, staging, m.Layers[i], diffId, layerWhere);
        }
    }

    /// <summary>Path of a blob inside a layout.</summary>
    private static string BlobEntry(Digest d) => "blobs/sha256/" + d.Hex;

    private static void CheckPresent(ImageSource src, Descriptor desc, Digest d, string where)
    {
        var entry = BlobEntry(d);
        if (desc.Size < 0)
            throw new InvalidDataException($"{where}: size {desc.Size} is negative");
        if (!src.Exists(entry))
            throw new InvalidDataException($"{where}: references blob {d}, but {src.DisplayName} has no entry '{entry}'");
        var len = src.Length(entry);
        if (len != desc.Size)
            throw new InvalidDataException($"{src.DisplayName}: entry '{entry}' is {len} bytes, but {where} says {desc.Size}");
    }

    private static byte[] ReadJsonBlob(ImageSource src, Staging staging, Descriptor desc, Digest d, string where)
    {
        CheckPresent(src, desc, d, where);
        var bytes = src.ReadAll(BlobEntry(d), OciJson.MaxDocumentSize);
        if (Digest.Of(bytes) != d)
            throw new InvalidDataException($"{src.DisplayName}: entry '{BlobEntry(d)}' does not match its digest: the content hashes to {Digest.Of(bytes)}");
        staging.Add(d, bytes);
        return bytes;
    }

    private void StageOpaque(ImageSource src, Staging staging, Descriptor desc, string where)
    {
        var d = desc.ParsedDigest(where);
        CheckPresent(src, desc, d, where);
        if (staging.Has(d)) // blobs already in the store are staged anyway: the commit dedupes under the lock, so a gc meanwhile cannot take them
            return;
        var tmp = staging.NewTempPath();
        using (var input = src.Open(BlobEntry(d)))
        using (var sink = NewSink(tmp))
        using (var tee = new TeeHashStream(input, sink))
        {
            tee.Drain();
            CheckDigest(src, d, tee.Finish());
        }
        staging.AddFile(d, tmp);
    }

    private void AddLayer(ImageSource src, Staging staging, Descriptor desc, Digest diffId, string where)
    {
        var d = desc.ParsedDigest(where);
        var compression = MediaTypes.LayerCompressionOf(desc.MediaType)
            ?? throw new InvalidDataException($"{where}: unknown layer media type '{desc.MediaType}'");
        if (desc.Urls is { Length: > 0 })
            throw new InvalidDataException($"{where}: layer {d} is a foreign layer with URLs; the store never fetches");
        CheckPresent(src, desc, d, where);
        if (_diffIds.TryGetValue(d, out var seen))
        {
            if (seen != diffId)
                throw new InvalidDataException($"{src.DisplayName}: layer {d}: the uncompressed tar hashes to {seen}, but the config's diff_id is {diffId}");
            return; // staged already in this add
        }
        var tmp = staging.NewTempPath();
        var layerWhere = $"{src.DisplayName}: layer {d}";
        Progress?.Invoke($"checking layer {d.Hex[..12]} ({desc.Size / 1048576.0:0.0} MiB)");
        using (var input = src.Open(BlobEntry(d)))
        using (var sink = NewSink(tmp))
        using (var tee = new TeeHashStream(input, sink))
        {
            LayerScan scan;
            try
            {
                scan = LayerScanner.Scan(tee, compression, compression != LayerCompression.None, options, layerWhere);
                tee.Drain();
            }
            catch (InvalidDataException) when (DrainAndHash(tee) is { } actual && actual != d)
            {
                // A layer that is not the bytes its digest names: report that, not what its content tripped over.
                throw new InvalidDataException($"{src.DisplayName}: entry '{BlobEntry(d)}' does not match its digest: the content hashes to {actual}");
            }
            CheckDigest(src, d, tee.Finish());
            var tarDigest = scan.DiffId ?? d;
            if (tarDigest != diffId)
                throw new InvalidDataException($"{layerWhere}: the uncompressed tar hashes to {tarDigest}, but the config's diff_id is {diffId}");
            _diffIds[d] = tarDigest;
        }
        staging.AddFile(d, tmp);
    }

    /// <summary>Layers checked in this add, by blob digest, with their diff_ids. Blobs the store holds are checked again
    /// from the source, so every add proves its own content; the commit then keeps the store's copy.</summary>
    private readonly Dictionary<Digest, Digest> _diffIds = [];

    private static Digest? DrainAndHash(TeeHashStream tee)
    {
        try
        {
            tee.Drain();
            return tee.Finish();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static void CheckDigest(ImageSource src, Digest expected, Digest actual)
    {
        if (expected != actual)
            throw new InvalidDataException($"{src.DisplayName}: entry '{BlobEntry(expected)}' does not match its digest: the content hashes to {actual}");
    }

    internal static FileStream NewSink(string path) =>
        new(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0);
}
