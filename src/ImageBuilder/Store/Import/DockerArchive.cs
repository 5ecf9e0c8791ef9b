// `docker save` archives (manifest.json + config + layer tars) turned into OCI manifests, byte for byte deterministic.
using System.Text.Json.Serialization;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Store.Sources;

namespace Appliance.ImageBuilder.Store.Import;

public sealed partial class ImageImporter
{
    /// <summary>One element of a docker-save manifest.json.</summary>
    private sealed record DockerEntry
    {
        [JsonPropertyName("Config")] public string? Config { get; init; }
        [JsonPropertyName("RepoTags")] public List<string>? RepoTags { get; init; }
        [JsonPropertyName("Layers")] public List<string>? Layers { get; init; }
    }

    /// <summary>
    /// Converts each image of a docker-save archive to an OCI manifest. The config and layer bytes are kept as they
    /// are; the manifest is written in the canonical compact form (OCI media types, fields in spec order), so an
    /// oci-archive that carries the same config and layers with such a manifest has the same manifest digest.
    /// </summary>
    private List<Descriptor> AddDocker(ImageSource src, Staging staging)
    {
        var where = $"{src.DisplayName}: manifest.json";
        var list = OciJson.Deserialize<List<DockerEntry>>(src.ReadAll("manifest.json", OciJson.MaxDocumentSize), where);
        if (list.Count == 0)
            throw new InvalidDataException($"{where}: lists no images");
        var entries = new List<Descriptor>();
        for (int i = 0; i < list.Count; i++)
        {
            var e = list[i];
            var at = $"{where} $[{i}]";
            if (e.Config is null)
                throw new InvalidDataException($"{at}.Config is missing");
            if (e.Layers is null)
                throw new InvalidDataException($"{at}.Layers is missing");
            var cfgPath = EntryName.Normalize(e.Config, at + ".Config");
            if (!src.Exists(cfgPath))
                throw new InvalidDataException($"{at}.Config: references '{e.Config}', but {src.DisplayName} has no such entry");
            var cfgBytes = src.ReadAll(cfgPath, OciJson.MaxDocumentSize);
            var cfgDigest = Digest.Of(cfgBytes);
            CheckNamedDigest(src, cfgPath, cfgDigest);
            var config = ImageConfig.Parse(cfgBytes, $"{src.DisplayName}: entry '{cfgPath}' (config)");
            var diffIds = config.RootFs?.DiffIds ?? [];
            if (diffIds.Count != e.Layers.Count)
                throw new InvalidDataException($"{src.DisplayName}: entry '{cfgPath}' (config): $.rootfs.diff_ids has {diffIds.Count} entries, but {at}.Layers has {e.Layers.Count}");
            staging.Add(cfgDigest, cfgBytes);
            var layers = new List<Descriptor>();
            for (int j = 0; j < e.Layers.Count; j++)
            {
                var lat = $"{at}.Layers[{j}]";
                var path = EntryName.Normalize(e.Layers[j], lat);
                if (!src.Exists(path))
                    throw new InvalidDataException($"{lat}: references '{e.Layers[j]}', but {src.DisplayName} has no such entry");
                var diffId = Digest.Parse(diffIds[j], $"{src.DisplayName}: entry '{cfgPath}' (config) $.rootfs.diff_ids[{j}]");
                layers.Add(AddDockerLayer(src, staging, path, diffId));
            }
            var manifest = new ImageManifest
            {
                SchemaVersion = 2,
                MediaType = MediaTypes.OciManifest,
                Config = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = cfgDigest.ToString(), Size = cfgBytes.Length },
                Layers = layers,
            };
            var bytes = OciJson.Serialize(manifest);
            var md = Digest.Of(bytes);
            staging.Add(md, bytes);
            var desc = new Descriptor { MediaType = MediaTypes.OciManifest, Digest = md.ToString(), Size = bytes.Length };
            var tags = e.RepoTags ?? [];
            if (tags.Count == 0)
                entries.Add(StoreIndex.Entry(desc, null));
            for (int t = 0; t < tags.Count; t++)
                entries.Add(StoreIndex.Entry(desc, ParseName(tags[t], "RepoTags", $"{at}.RepoTags[{t}]")));
        }
        return entries;
    }

    /// <summary>Newer docker names members blobs/sha256/&lt;hex&gt;: then the content must hash to that name.</summary>
    private static void CheckNamedDigest(ImageSource src, string path, Digest actual)
    {
        const string prefix = "blobs/sha256/";
        if (path.StartsWith(prefix, StringComparison.Ordinal) && Digest.TryParseHex(path[prefix.Length..], out var named) && named != actual)
            throw new InvalidDataException($"{src.DisplayName}: entry '{path}' does not match its digest: the content hashes to {actual}");
    }

    private Descriptor AddDockerLayer(ImageSource src, Staging staging, string path, Digest diffId)
    {
        var tmp = staging.NewTempPath();
        var layerWhere = $"{src.DisplayName}: layer '{path}'";
        Progress?.Invoke($"checking layer {path} ({src.Length(path) / 1048576.0:0.0} MiB)");
        Digest d;
        long size;
        LayerCompression compression;
        using (var input = src.Open(path))
        using (var sink = NewSink(tmp))
        using (var tee = new TeeHashStream(input, sink))
        {
            compression = Sniff(tee.Peek());
            var scan = LayerScanner.Scan(tee, compression, compression != LayerCompression.None, options, layerWhere);
            tee.Drain();
            d = tee.Finish();
            size = tee.Total;
            CheckNamedDigest(src, path, d);
            var tarDigest = scan.DiffId ?? d;
            if (tarDigest != diffId)
                throw new InvalidDataException($"{layerWhere}: the uncompressed tar hashes to {tarDigest}, but the config's diff_id is {diffId}");
        }
        if (staging.Has(d)) // blobs already in the store are staged anyway: the commit dedupes under the lock, so a gc meanwhile cannot take them
            File.Delete(tmp);
        else
            staging.AddFile(d, tmp);
        return new Descriptor { MediaType = MediaTypes.OciLayerFor(compression), Digest = d.ToString(), Size = size };
    }

    /// <summary>gzip starts 1f 8b; zstd frames start 28 b5 2f fd; anything else is read as a plain tar.</summary>
    private static LayerCompression Sniff(ReadOnlySpan<byte> head) =>
        head is [0x1f, 0x8b, ..] ? LayerCompression.Gzip
        : head is [0x28, 0xb5, 0x2f, 0xfd, ..] ? LayerCompression.Zstd
        : LayerCompression.None;
}
