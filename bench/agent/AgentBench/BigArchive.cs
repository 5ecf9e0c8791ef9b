// Writes the benchmark's image archive: an OCI layout tar whose layers hold seeded pseudo-random bytes (same bytes every run).
using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Appliance.Bench.Agent;

/// <summary>
/// A deterministic OCI image archive of about <c>layers × layerMiB</c> MiB. Also compiled into
/// tests/ClusterRuntime.Tests (AgentRestartTests), which replaces it by one of the same size with another seed.
/// </summary>
static class BigArchive
{
    public const string ImageName = "bench.local/agent/big:1";
    static readonly DateTimeOffset Epoch = DateTimeOffset.FromUnixTimeSeconds(1700000000);

    /// <summary>
    /// Writes the archive; layer <c>i</c> holds <c>Random(seed + i)</c> bytes. Archives with the same layers and sizes
    /// are the same size whatever the seed (ustar, fixed-length digests), but their bytes differ.
    /// </summary>
    public static void Write(string path, int layers, int layerMiB, int seed = 1000)
    {
        var blobs = new List<(string Digest, string File)>();
        var dir = Path.GetDirectoryName(path)!;
        var layerDescs = new JsonArray();
        var diffIds = new JsonArray();
        for (int i = 0; i < layers; i++)
        {
            var file = Path.Combine(dir, $"layer{i}.tar");
            WriteLayer(file, seed + i, layerMiB);
            var digest = "sha256:" + Convert.ToHexStringLower(Appliance.Common.FileSha256.Hash(file));
            blobs.Add((digest, file));
            layerDescs.Add(new JsonObject { ["mediaType"] = "application/vnd.oci.image.layer.v1.tar", ["digest"] = digest, ["size"] = new FileInfo(file).Length });
            diffIds.Add(digest);
        }
        var config = Json(new JsonObject
        {
            ["architecture"] = "amd64", ["os"] = "linux", ["created"] = "2023-11-14T22:13:20Z",
            ["config"] = new JsonObject { ["Env"] = new JsonArray("PATH=/bin") },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = diffIds },
        });
        var manifest = Json(new JsonObject
        {
            ["schemaVersion"] = 2, ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = new JsonObject { ["mediaType"] = "application/vnd.oci.image.config.v1+json", ["digest"] = Digest(config), ["size"] = config.Length },
            ["layers"] = layerDescs,
        });
        var index = Json(new JsonObject
        {
            ["schemaVersion"] = 2, ["mediaType"] = "application/vnd.oci.image.index.v1+json",
            ["manifests"] = new JsonArray(new JsonObject
            {
                ["mediaType"] = "application/vnd.oci.image.manifest.v1+json", ["digest"] = Digest(manifest), ["size"] = manifest.Length,
                ["annotations"] = new JsonObject { ["io.containerd.image.name"] = ImageName, ["org.opencontainers.image.ref.name"] = "1" },
            }),
        });
        using (var output = File.Create(path))
        using (var tar = new TarWriter(output, TarEntryFormat.Ustar))
        {
            Add(tar, "oci-layout", Encoding.UTF8.GetBytes("{\"imageLayoutVersion\":\"1.0.0\"}"));
            foreach (var (digest, file) in blobs)
            {
                using var data = File.OpenRead(file);
                tar.WriteEntry(Entry("blobs/sha256/" + digest[7..], data));
            }
            Add(tar, "blobs/sha256/" + Digest(config)[7..], config);
            Add(tar, "blobs/sha256/" + Digest(manifest)[7..], manifest);
            Add(tar, "index.json", index);
        }
        foreach (var (_, file) in blobs)
            File.Delete(file);
    }

    static void WriteLayer(string file, int seed, int mib)
    {
        var random = new Random(seed);
        var bytes = new byte[mib << 20];
        random.NextBytes(bytes);
        using var output = File.Create(file);
        using var tar = new TarWriter(output, TarEntryFormat.Ustar);
        tar.WriteEntry(Entry($"data/blob{seed}.bin", new MemoryStream(bytes)));
    }

    // Ustar, not PAX: .NET stamps PAX entries with the current access and change times.
    static UstarTarEntry Entry(string name, Stream data) =>
        new(TarEntryType.RegularFile, name) { DataStream = data, ModificationTime = Epoch, Mode = (UnixFileMode)0b110_100_100 };

    static void Add(TarWriter tar, string name, byte[] bytes) => tar.WriteEntry(Entry(name, new MemoryStream(bytes)));

    static byte[] Json(JsonObject o) => Encoding.UTF8.GetBytes(o.ToJsonString());

    static string Digest(byte[] b) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(b));
}
