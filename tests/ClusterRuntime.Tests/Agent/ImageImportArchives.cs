// Test support: archive variants made from the busybox fixtures (renamed, compressed, truncated) for the import tests.
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Appliance.ClusterRuntime.Tests.Agent;

/// <summary>Writes variants of the fixture archives into a directory.</summary>
internal static class ImageImportArchives
{
    /// <summary>A file of the busybox fixtures.</summary>
    public static string Fixture(string name) => Path.Combine(BusyboxFixtures.Dir, name);

    /// <summary>busybox.docker.tar with its RepoTags replaced by <paramref name="tags"/>.</summary>
    public static string DockerSaveTagged(string path, params string[] tags) => DockerSaveVariant(path, null, tags);

    /// <summary>
    /// busybox.docker.tar with its RepoTags replaced by <paramref name="tags"/> and, when <paramref name="variant"/> is
    /// given, one more field in its image config, so that it is a different image (another image ID) with the same layer.
    /// </summary>
    public static string DockerSaveVariant(string path, string? variant, params string[] tags)
    {
        using var src = File.OpenRead(Fixture("busybox.docker.tar"));
        using var reader = new TarReader(src);
        using (var dst = File.Create(path))
        using (var writer = new TarWriter(dst))
        {
            while (reader.GetNextEntry(copyData: true) is { } e)
            {
                if (e.Name == "manifest.json")
                {
                    var json = Encoding.UTF8.GetString(ReadAll(e.DataStream!));
                    var from = json.IndexOf("\"RepoTags\":[", StringComparison.Ordinal) + "\"RepoTags\":[".Length;
                    var to = json.IndexOf(']', from);
                    json = json[..from] + string.Join(',', tags.Select(t => $"\"{t}\"")) + json[to..];
                    e.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(json));
                }
                else if (variant is not null && e.Name.EndsWith(".json", StringComparison.Ordinal) && !e.Name.Contains('/'))
                {
                    // The image config (<hex>.json): the importer hashes it as it streams, so its name may stay.
                    var json = Encoding.UTF8.GetString(ReadAll(e.DataStream!));
                    json = "{\"appliance_test_variant\":\"" + variant + "\"," + json[1..];
                    e.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(json));
                }
                writer.WriteEntry(e);
            }
        }
        return path;
    }

    /// <summary><paramref name="source"/> gzip-compressed into <paramref name="path"/>.</summary>
    public static string Gzip(string source, string path)
    {
        using var input = File.OpenRead(source);
        using var output = File.Create(path);
        using var gz = new GZipStream(output, CompressionLevel.Fastest);
        input.CopyTo(gz);
        return path;
    }

    /// <summary><paramref name="source"/> zstd-compressed into <paramref name="path"/> (with /usr/bin/zstd).</summary>
    public static string Zstd(string source, string path)
    {
        if (!File.Exists("/usr/bin/zstd")) Assert.Skip("zstd is not installed");
        ProcessRunner.Run("zstd", ["-q", "-f", "-o", path, source]).Ok();
        return path;
    }

    /// <summary>The first <paramref name="bytes"/> bytes of <paramref name="source"/>.</summary>
    public static string Truncated(string source, string path, int bytes)
    {
        var all = File.ReadAllBytes(source);
        File.WriteAllBytes(path, all[..bytes]);
        return path;
    }

    /// <summary><paramref name="source"/> with one byte changed inside its largest member (a valid tar whose blob
    /// no longer matches its name).</summary>
    public static string Corrupted(string source, string path)
    {
        long offset = 0, largest = 0;
        using (var f = File.OpenRead(source))
        using (var reader = new TarReader(f))
            while (reader.GetNextEntry() is { } e)
                if (e.Length > largest)
                    (largest, offset) = (e.Length, e.DataOffset);
        var all = File.ReadAllBytes(source);
        all[offset + largest / 2] ^= 0xff;
        File.WriteAllBytes(path, all);
        return path;
    }

    private static byte[] ReadAll(Stream s)
    {
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }
}
