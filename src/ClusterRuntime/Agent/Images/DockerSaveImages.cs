// docker save (manifest.json): synthesizes the Docker v2.2 manifest containerd expects for each image in the archive.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Images.Api;

namespace Appliance.ClusterRuntime.Agent.Images;

/// <summary>
/// Reads the images of a <c>docker save</c> archive. Such an archive holds configs and layers but no registry
/// manifest, so one is built per image (config + layers, Docker image manifest v2 schema 2), as containerd's own
/// importer does, and written to the store; the image record points at it.
/// </summary>
internal static class DockerSaveImages
{
    /// <summary>The manifests to write (digest → bytes), the image targets, and the GC labels of each manifest.</summary>
    public static (List<(string Digest, byte[] Bytes)> Manifests, List<ImageTarget> Targets) Read(
        ArchiveContents contents, Dictionary<string, Dictionary<string, string>> labels)
    {
        var doc = OciLayoutImages.Parse(contents.Json["manifest.json"], "manifest.json");
        if (doc.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException("manifest.json: expected an array of images");
        var manifests = new List<(string, byte[])>();
        var targets = new List<ImageTarget>();
        int i = 0;
        foreach (var entry in doc.EnumerateArray())
        {
            var where = $"manifest.json[{i++}]";
            var configPath = Str(entry, "Config", where);
            var config = Member(contents, configPath, where);
            var layers = new JsonArray();
            var own = new Dictionary<string, string> { [$"{MediaTypes.GcRefContent}.config"] = config.Digest };
            int n = 0;
            if (!entry.TryGetProperty("Layers", out var ls) || ls.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{where}: no 'Layers' array");
            foreach (var l in ls.EnumerateArray())
            {
                var path = l.GetString() ?? throw new InvalidDataException($"{where}: a layer path is not a string");
                var layer = Member(contents, path, where);
                var mediaType = layer.Compression switch
                {
                    "gzip" => MediaTypes.DockerLayerGzip,
                    "zstd" => MediaTypes.OciLayerZstd,
                    _ => MediaTypes.DockerLayer,
                };
                layers.Add((JsonNode)new JsonObject { ["mediaType"] = mediaType, ["size"] = layer.Size, ["digest"] = layer.Digest });
                own[$"{MediaTypes.GcRefContent}.l.{n++}"] = layer.Digest;
            }
            var manifest = new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = MediaTypes.DockerManifest,
                ["config"] = new JsonObject { ["mediaType"] = MediaTypes.DockerConfig, ["size"] = config.Size, ["digest"] = config.Digest },
                ["layers"] = layers,
            };
            var bytes = Encoding.UTF8.GetBytes(manifest.ToJsonString());
            var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
            manifests.Add((digest, bytes));
            labels[digest] = own;
            var target = new OciDescriptor { MediaType = MediaTypes.DockerManifest, Digest = digest, Size = bytes.Length };
            if (entry.TryGetProperty("RepoTags", out var tags) && tags.ValueKind == JsonValueKind.Array)
                foreach (var t in tags.EnumerateArray())
                    if (t.GetString() is { Length: > 0 } tag)
                        targets.Add(new ImageTarget(tag, target));
        }
        if (targets.Count == 0)
            throw new InvalidDataException("manifest.json names no image (no RepoTags)");
        return (manifests, targets);
    }

    private static (string Digest, long Size, string Compression) Member(ArchiveContents contents, string path, string where) =>
        contents.Blobs.TryGetValue(path.StartsWith("./", StringComparison.Ordinal) ? path[2..] : path, out var b)
            ? b
            : throw new InvalidDataException($"{where} refers to '{path}', which is not in the archive");

    private static string Str(JsonElement e, string property, string where) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new InvalidDataException($"{where}: no '{property}' string");
}
