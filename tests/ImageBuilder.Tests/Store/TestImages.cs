// Builds small OCI images and archives in memory for tests, with hooks to make them hostile.
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Appliance.ImageBuilder.Oci;

namespace Appliance.ImageBuilder.Tests.Store;

/// <summary>One member of a test tar.</summary>
public sealed record TarMember(string Name, byte[]? Data = null, TarEntryType Type = TarEntryType.RegularFile, string Link = "",
    int Mode = 0b110_100_100, int Major = 0, int Minor = 0, Dictionary<string, string>? Pax = null);

/// <summary>Helpers that write tars, layers and oci-archives.</summary>
public static class TestImages
{
    /// <summary>sha256:hex of bytes.</summary>
    public static string Sha(byte[] b) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(b));

    /// <summary>A PAX tar of the members, in the given order.</summary>
    public static byte[] Tar(IEnumerable<TarMember> members)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var m in members)
            {
                var e = m.Pax is null ? new PaxTarEntry(m.Type, m.Name) : new PaxTarEntry(m.Type, m.Name, m.Pax);
                e.Mode = (UnixFileMode)(m.Type == TarEntryType.Directory && m.Mode == 0b110_100_100 ? 0b111_101_101 : m.Mode);
                e.ModificationTime = DateTimeOffset.FromUnixTimeSeconds(1700000000);
                if (m.Type is TarEntryType.SymbolicLink or TarEntryType.HardLink)
                    e.LinkName = m.Link;
                if (m.Type is TarEntryType.CharacterDevice or TarEntryType.BlockDevice)
                {
                    e.DeviceMajor = m.Major;
                    e.DeviceMinor = m.Minor;
                }
                if (m.Data != null)
                    e.DataStream = new MemoryStream(m.Data);
                w.WriteEntry(e);
            }
        return ms.ToArray();
    }

    /// <summary>A plain ustar tar (the archive form, without PAX headers).</summary>
    public static byte[] ArchiveTar(IEnumerable<(string Name, byte[] Data)> files, IEnumerable<TarMember>? extra = null)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, data) in files)
                w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            foreach (var m in extra ?? [])
            {
                var e = new UstarTarEntry(m.Type, m.Name) { LinkName = m.Link };
                if (m.Data != null)
                    e.DataStream = new MemoryStream(m.Data);
                w.WriteEntry(e);
            }
        }
        return ms.ToArray();
    }

    /// <summary>gzip of bytes.</summary>
    public static byte[] Gzip(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var g = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
            g.Write(raw);
        return ms.ToArray();
    }

    /// <summary>A test image: its blobs, manifest bytes, and the pieces tests tamper with.</summary>
    public sealed class Image
    {
        /// <summary>Blobs by digest.</summary>
        public Dictionary<string, byte[]> Blobs { get; } = [];
        /// <summary>The manifest bytes.</summary>
        public byte[] Manifest { get; set; } = [];
        /// <summary>index.json bytes.</summary>
        public byte[] Index { get; set; } = [];
        /// <summary>Layer blobs in order.</summary>
        public List<byte[]> Layers { get; } = [];
        /// <summary>The config bytes.</summary>
        public byte[] Config { get; set; } = [];

        /// <summary>The files of an oci-archive: oci-layout, index.json, blobs.</summary>
        public List<(string Name, byte[] Data)> Files() =>
            [("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"u8.ToArray()), ("index.json", Index),
             .. Blobs.OrderBy(b => b.Key, StringComparer.Ordinal).Select(b => ("blobs/sha256/" + b.Key[7..], b.Value))];
    }

    /// <summary>
    /// An image with the given layer tars (uncompressed bytes, compressed as asked). <paramref name="layerMediaType"/>
    /// and <paramref name="sizeDelta"/> let a test lie in the manifest.
    /// </summary>
    public static Image Make(string name, IReadOnlyList<byte[]> rawLayers, LayerCompression compression = LayerCompression.None,
        string? layerMediaType = null, long sizeDelta = 0, string? diffIdOverride = null)
    {
        var img = new Image();
        var diffIds = rawLayers.Select(Sha).ToList();
        if (diffIdOverride != null)
            diffIds[0] = diffIdOverride;
        img.Config = Encoding.UTF8.GetBytes(
            "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" +
            string.Join(",", diffIds.Select(d => "\"" + d + "\"")) + "]}}");
        img.Blobs[Sha(img.Config)] = img.Config;
        var layerDescs = new List<string>();
        foreach (var raw in rawLayers)
        {
            var blob = compression == LayerCompression.Gzip ? Gzip(raw) : raw;
            img.Layers.Add(blob);
            img.Blobs[Sha(blob)] = blob;
            layerDescs.Add($"{{\"mediaType\":\"{layerMediaType ?? MediaTypes.OciLayerFor(compression)}\",\"digest\":\"{Sha(blob)}\",\"size\":{blob.Length + sizeDelta}}}");
        }
        img.Manifest = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciManifest}\",\"config\":{{\"mediaType\":\"{MediaTypes.OciConfig}\",\"digest\":\"{Sha(img.Config)}\",\"size\":{img.Config.Length}}},\"layers\":[{string.Join(",", layerDescs)}]}}");
        img.Blobs[Sha(img.Manifest)] = img.Manifest;
        img.Index = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"manifests\":[{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{Sha(img.Manifest)}\",\"size\":{img.Manifest.Length},\"annotations\":{{\"io.containerd.image.name\":\"{name}\"}}}}]}}");
        return img;
    }

    /// <summary>A harmless one-file layer.</summary>
    public static byte[] SimpleLayer(string text = "hello") =>
        Tar([new TarMember("etc/", Type: TarEntryType.Directory), new TarMember("etc/motd", Encoding.UTF8.GetBytes(text))]);
}
