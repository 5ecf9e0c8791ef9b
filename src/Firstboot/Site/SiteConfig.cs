// appliance/site.yaml read without reflection: document 1 (the rendered profile), document 2 (the secrets).
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Appliance.Firstboot.Site;

/// <summary>
/// The site configuration as the build wrote it: document 1 is the rendered profile (secrets redacted), document 2,
/// when present, holds <c>clusterToken</c> and, for a server with cluster PKI, <c>pki</c> (file name to PEM text).
/// </summary>
public sealed class SiteConfig
{
    private SiteConfig(YamlMappingNode profile, Secrets? secrets, int secretsOffset)
    {
        Profile = profile;
        Secrets = secrets;
        SecretsOffset = secretsOffset;
    }

    /// <summary>Document 1: the rendered profile, for the device actions (network, time servers).</summary>
    public YamlMappingNode Profile { get; }

    /// <summary>Document 2, or null when site.yaml carries no secrets (any more).</summary>
    public Secrets? Secrets { get; }

    /// <summary>
    /// Byte offset of the line <c>---</c> that starts document 2; everything from there to the end of the file is secret.
    /// -1 without document 2.
    /// </summary>
    public int SecretsOffset { get; }

    /// <summary><c>metadata.name</c>.</summary>
    public string Name => Text("metadata", "name") ?? throw Missing("metadata.name");

    /// <summary><c>node.role</c>: server or agent.</summary>
    public string Role => Text("node", "role") ?? throw Missing("node.role");

    /// <summary><c>node.hostname</c>.</summary>
    public string? Hostname => Text("node", "hostname");

    /// <summary><c>cluster.server</c> (agents: the server's https URL).</summary>
    public string? ClusterServer => Text("cluster", "server");

    /// <summary><c>target.diskSize</c> in bytes (the smallest disk the site may run on), or null.</summary>
    public long? MinimumDiskBytes => Text("target", "diskSize") is { } s ? ParseSize(s) : null;

    /// <summary><c>target.board</c>.</summary>
    public string? Board => Text("target", "board");

    /// <summary>
    /// The address the cluster's API is reached at: the agent's <c>cluster.server</c>; for a server, its first static
    /// address, else its hostname, on port 6443.
    /// </summary>
    public string ApiAddress
    {
        get
        {
            if (Role == "agent" && ClusterServer is { } s) return s;
            string host = FirstStaticAddress() ?? Hostname ?? "localhost";
            return $"https://{host}:6443";
        }
    }

    /// <summary>The value at a path of mapping keys, as text; null when any part is absent.</summary>
    public string? Text(params string[] path) => At(Profile, path) is YamlScalarNode { Value: { } v } ? v : null;

    /// <summary>The node at a path of mapping keys below <paramref name="root"/>; null when any part is absent.</summary>
    public static YamlNode? At(YamlNode root, params string[] path)
    {
        YamlNode? node = root;
        foreach (var key in path)
            node = node is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode(key), out var next) ? next : null;
        return node;
    }

    private string? FirstStaticAddress()
    {
        if (At(Profile, "network", "interfaces") is YamlSequenceNode interfaces)
            foreach (var itf in interfaces.OfType<YamlMappingNode>())
                if (At(itf, "addresses") is YamlSequenceNode addrs && addrs.OfType<YamlScalarNode>().FirstOrDefault()?.Value is { } first)
                    return first.Split('/')[0];
        return null;
    }

    private static InvalidDataException Missing(string field) => new($"appliance/site.yaml: {field} is missing");

    /// <summary>Parses site.yaml's bytes; <paramref name="where"/> names the file in errors.</summary>
    /// <exception cref="InvalidDataException">Not YAML, no profile document, a malformed secrets document.</exception>
    public static SiteConfig Parse(byte[] bytes, string where)
    {
        string text;
        try { text = new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException) { throw new InvalidDataException($"{where}: not UTF-8 text"); }
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e) { throw new InvalidDataException($"{where}:{e.Start.Line}:{e.Start.Column}: not valid YAML: {e.Message}"); }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode profile)
            throw new InvalidDataException($"{where}: no site profile (document 1 is not a mapping)");
        if (stream.Documents.Count > 2)
            throw new InvalidDataException($"{where}: {stream.Documents.Count} YAML documents; expected the profile and at most the secrets");
        Secrets? secrets = null;
        int offset = -1;
        if (stream.Documents.Count == 2)
        {
            secrets = Secrets.From(stream.Documents[1].RootNode, where);
            offset = SecondDocumentOffset(bytes, where);
        }
        var config = new SiteConfig(profile, secrets, offset);
        _ = config.Name;
        _ = config.Role;
        return config;
    }

    /// <summary>The byte offset of the document separator line, found in the bytes (the parser counts characters).</summary>
    private static int SecondDocumentOffset(byte[] bytes, string where)
    {
        int at = 0;
        while (at < bytes.Length)
        {
            int nl = Array.IndexOf(bytes, (byte)'\n', at);
            int end = nl < 0 ? bytes.Length : nl;
            var line = bytes.AsSpan(at, end - at).TrimEnd((byte)'\r');
            if (at > 0 && line.StartsWith("---"u8) && (line.Length == 3 || line[3] is (byte)' ' or (byte)'\t'))
                return at;
            at = end + 1;
        }
        throw new InvalidDataException($"{where}: the secrets document does not start with a '---' line");
    }

    /// <summary>Parses a size as the profile writes it (the units of the builder's ByteSize: B, KiB…TiB, KB…TB).</summary>
    public static long ParseSize(string s)
    {
        s = s.Trim();
        int i = 0;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
        if (i == 0 || !decimal.TryParse(s[..i], System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var n))
            throw new InvalidDataException($"appliance/site.yaml: target.diskSize '{s}' is not a size");
        long unit = s[i..].Trim() switch
        {
            "" or "B" => 1, "KB" => 1000, "KiB" => 1L << 10, "MB" => 1000_000, "MiB" => 1L << 20,
            "GB" => 1000_000_000, "GiB" => 1L << 30, "TB" => 1000_000_000_000, "TiB" => 1L << 40,
            var u => throw new InvalidDataException($"appliance/site.yaml: target.diskSize '{s}': unknown unit '{u}'"),
        };
        return (long)(n * unit);
    }
}

/// <summary>Document 2 of site.yaml: the cluster token and, for a server with cluster PKI, the TLS files.</summary>
/// <param name="ClusterToken">The <c>K10...::server:...</c> token, or null.</param>
/// <param name="Pki">File name in the runtime's <c>tls/</c> directory to PEM text.</param>
public sealed record Secrets(string? ClusterToken, IReadOnlyDictionary<string, string> Pki)
{
    /// <summary>The file names the runtime's tls directory may receive.</summary>
    public static readonly IReadOnlySet<string> PkiFiles = new HashSet<string>(StringComparer.Ordinal)
        { "server-ca.crt", "server-ca.key", "client-ca.crt", "client-ca.key", "service.key" };

    internal static Secrets From(YamlNode node, string where)
    {
        if (node is not YamlMappingNode m) throw new InvalidDataException($"{where}: the secrets document is not a mapping");
        string? token = null;
        var pki = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in m.Children)
        {
            var key = (k as YamlScalarNode)?.Value;
            switch (key)
            {
                case "clusterToken" when v is YamlScalarNode { Value: { Length: > 0 } t }:
                    token = t;
                    break;
                case "pki" when v is YamlMappingNode files:
                    foreach (var (fk, fv) in files.Children)
                    {
                        var name = (fk as YamlScalarNode)?.Value ?? "";
                        if (!PkiFiles.Contains(name))
                            throw new InvalidDataException($"{where}:{fk.Start.Line}:{fk.Start.Column}: pki file '{name}' is not one of {string.Join(", ", PkiFiles.Order())}");
                        pki[name] = (fv as YamlScalarNode)?.Value ?? throw new InvalidDataException($"{where}:{fv.Start.Line}:{fv.Start.Column}: pki.{name} is not PEM text");
                    }
                    break;
                default:
                    throw new InvalidDataException($"{where}:{k.Start.Line}:{k.Start.Column}: unexpected '{key}' in the secrets document (expected clusterToken, pki)");
            }
        }
        return new Secrets(token, pki);
    }
}
