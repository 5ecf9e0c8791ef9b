// OCI image layout (index.json): the named manifests, and the GC labels that tie each index and manifest to its children.
using System.Text.Json;
using Appliance.ClusterRuntime.Agent.Images.Api;

namespace Appliance.ClusterRuntime.Agent.Images;

/// <summary>Reads the images of an OCI image layout archive (image-spec image-layout.md, index.json).</summary>
internal static class OciLayoutImages
{
    /// <summary>containerd's own name annotation, written by <c>ctr images export</c> and by our fixtures.</summary>
    public const string ContainerdNameAnnotation = "io.containerd.image.name";

    /// <summary>The OCI name annotation: a full reference, or only a tag (then it names nothing on its own).</summary>
    public const string OciRefNameAnnotation = "org.opencontainers.image.ref.name";

    /// <summary>
    /// The image targets named in index.json; adds to <paramref name="labels"/> the GC references of every index
    /// and manifest reachable from them.
    /// </summary>
    /// <exception cref="InvalidDataException">index.json or a manifest is malformed, or a needed blob is missing.</exception>
    public static List<ImageTarget> Read(ArchiveContents contents, Dictionary<string, Dictionary<string, string>> labels)
    {
        var index = Parse(contents.Json["index.json"], "index.json");
        var targets = new List<ImageTarget>();
        int unnamed = 0;
        foreach (var m in Manifests(index, "index.json"))
        {
            Walk(m, contents, labels, "index.json");
            var name = m.Annotations.GetValueOrDefault(ContainerdNameAnnotation);
            if (name is null && m.Annotations.GetValueOrDefault(OciRefNameAnnotation) is { } refName && refName.Contains('/'))
                name = refName;
            if (name is null)
            {
                unnamed++;
                continue;
            }
            targets.Add(new ImageTarget(name, m));
        }
        if (targets.Count == 0)
            throw new InvalidDataException(
                $"index.json names no image ({unnamed} manifest(s) without a '{ContainerdNameAnnotation}' annotation or a full '{OciRefNameAnnotation}')");
        return targets;
    }

    private static void Walk(OciDescriptor d, ArchiveContents contents, Dictionary<string, Dictionary<string, string>> labels, string from)
    {
        if (!MediaTypes.IsIndex(d.MediaType) && !MediaTypes.IsManifest(d.MediaType))
            throw new InvalidDataException($"{from}: descriptor {d.Digest} has media type '{d.MediaType}'; expected an image index or manifest");
        if (!contents.Json.TryGetValue(d.Digest, out var bytes))
            throw new InvalidDataException($"{from} refers to {d.Digest}, which is not in the archive (blobs/{d.Digest.Replace(':', '/')})");
        var doc = Parse(bytes, d.Digest);
        var own = labels.TryGetValue(d.Digest, out var l) ? l : labels[d.Digest] = new();
        if (MediaTypes.IsIndex(d.MediaType))
        {
            int i = 0;
            foreach (var child in Manifests(doc, d.Digest))
            {
                // A multi-platform index may list platforms the archive does not carry: those are simply not kept.
                if (!contents.Json.ContainsKey(child.Digest))
                    continue;
                own[$"{MediaTypes.GcRefContent}.m.{i++}"] = child.Digest;
                Walk(child, contents, labels, d.Digest);
            }
            return;
        }
        var config = Descriptor(doc.GetProperty("config"), d.Digest);
        Require(config, contents, d.Digest);
        own[$"{MediaTypes.GcRefContent}.config"] = config.Digest;
        int n = 0;
        foreach (var layer in doc.GetProperty("layers").EnumerateArray())
        {
            var ld = Descriptor(layer, d.Digest);
            Require(ld, contents, d.Digest);
            own[$"{MediaTypes.GcRefContent}.l.{n++}"] = ld.Digest;
        }
    }

    private static void Require(OciDescriptor d, ArchiveContents contents, string from)
    {
        if (!contents.Blobs.Values.Any(b => b.Digest == d.Digest))
            throw new InvalidDataException($"manifest {from} refers to {d.Digest}, which is not in the archive");
    }

    private static IEnumerable<OciDescriptor> Manifests(JsonElement doc, string where)
    {
        if (doc.ValueKind != JsonValueKind.Object || !doc.TryGetProperty("manifests", out var list) || list.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{where}: no 'manifests' array");
        return list.EnumerateArray().Select(e => Descriptor(e, where)).ToList();
    }

    /// <summary>A descriptor from its JSON form (mediaType, digest, size, annotations).</summary>
    public static OciDescriptor Descriptor(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("digest", out var digest) || digest.ValueKind != JsonValueKind.String
            || !e.TryGetProperty("size", out var size) || size.ValueKind != JsonValueKind.Number)
            throw new InvalidDataException($"{where}: a descriptor without a digest or size");
        var d = new OciDescriptor
        {
            MediaType = e.TryGetProperty("mediaType", out var mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString()! : "",
            Digest = digest.GetString()!,
            Size = size.GetInt64(),
        };
        if (e.TryGetProperty("annotations", out var ann) && ann.ValueKind == JsonValueKind.Object)
            foreach (var p in ann.EnumerateObject())
                d.Annotations[p.Name] = p.Value.GetString() ?? "";
        return d;
    }

    /// <summary>Parses a JSON member, with its name in the error.</summary>
    public static JsonElement Parse(byte[] bytes, string where)
    {
        try
        {
            return JsonDocument.Parse(bytes).RootElement;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{where}: not valid JSON ({e.Message})", e);
        }
    }
}
