// Where the API server is and how to prove who we are to it: the admin kubeconfig (server site) or the node's own certificate (agent site).
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace Appliance.Firstboot.Device;

/// <summary>An API server URL, the CA that signs its certificate, and a client certificate with its key, all PEM.</summary>
/// <param name="Server">https://HOST:PORT.</param>
/// <param name="CaPem">The server CA.</param>
/// <param name="ClientCertificatePem">The client certificate (a chain may follow it; the first certificate is used).</param>
/// <param name="ClientKeyPem">Its private key.</param>
/// <param name="Source">Where they were read, for messages.</param>
public sealed record ApiCredentials(Uri Server, string CaPem, string ClientCertificatePem, string ClientKeyPem, string Source)
{
    /// <summary>
    /// Reads a kubeconfig with embedded data (what <c>appliance-runtime server</c> writes as
    /// <c>DATA/runtime/kubeconfig.yaml</c>): the current context's cluster and user.
    /// </summary>
    /// <exception cref="FileNotFoundException">Not written yet.</exception>
    /// <exception cref="InvalidDataException">It lacks a field this needs; the message names it.</exception>
    public static ApiCredentials FromKubeconfig(string path)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(path)) yaml.Load(reader);
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw new InvalidDataException($"{path}: not a kubeconfig (no mapping at the top)");
        var contextName = Scalar(root, "current-context", path);
        var context = Named(root, "contexts", contextName, "context", path);
        var cluster = Named(root, "clusters", Scalar(context, "cluster", path), "cluster", path);
        var user = Named(root, "users", Scalar(context, "user", path), "user", path);
        return new ApiCredentials(new Uri(Scalar(cluster, "server", path)),
            Base64(cluster, "certificate-authority-data", path),
            Base64(user, "client-certificate-data", path),
            Base64(user, "client-key-data", path), path);
    }

    /// <summary>
    /// The node's own identity in an agent's data directory (<c>DATA/runtime/agent</c>): <c>tls/server-ca.crt</c>
    /// (pinned at join), <c>tls/client-kubelet.crt</c> and <c>.key</c> (<c>system:node:NAME</c>, which may GET its own
    /// Node), for <paramref name="server"/> (<c>cluster.server</c>).
    /// </summary>
    /// <exception cref="FileNotFoundException">The agent has not joined yet.</exception>
    public static ApiCredentials FromAgentDirectory(string agentDataDirectory, Uri server)
    {
        var tls = Path.Combine(agentDataDirectory, "tls");
        return new ApiCredentials(server,
            File.ReadAllText(Path.Combine(tls, "server-ca.crt")),
            File.ReadAllText(Path.Combine(tls, "client-kubelet.crt")),
            File.ReadAllText(Path.Combine(tls, "client-kubelet.key")), tls);
    }

    /// <summary>
    /// An HttpClient for <see cref="Server"/> that trusts only <see cref="CaPem"/> and presents the client certificate
    /// (no overall timeout: give each request a token).
    /// </summary>
    /// <exception cref="InvalidDataException">A certificate or key that cannot be read; the message names <see cref="Source"/>.</exception>
    public HttpClient CreateClient()
    {
        X509Certificate2 ca, client;
        try
        {
            ca = X509Certificate2.CreateFromPem(CaPem);
            client = X509Certificate2.CreateFromPem(ClientCertificatePem, ClientKeyPem);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new InvalidDataException($"unusable certificate or key in {Source}: {e.Message}", e);
        }
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero };
        handler.SslOptions.ClientCertificates = [client];
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
        {
            if (cert is null) return false;
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(cert as X509Certificate2 ?? new X509Certificate2(cert)) && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None;
        };
        return new HttpClient(handler, disposeHandler: true) { BaseAddress = Server, Timeout = Timeout.InfiniteTimeSpan };
    }

    private static string Scalar(YamlMappingNode map, string key, string path) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode { Value: { Length: > 0 } s }
            ? s
            : throw new InvalidDataException($"{path}: '{key}' is missing or empty");

    private static string Base64(YamlMappingNode map, string key, string path)
    {
        try { return Encoding.UTF8.GetString(Convert.FromBase64String(Scalar(map, key, path))); }
        catch (FormatException) { throw new InvalidDataException($"{path}: '{key}' is not base64"); }
    }

    // clusters/contexts/users: a list of {name: N, KIND: {...}}; the entry named N.
    private static YamlMappingNode Named(YamlMappingNode root, string list, string name, string kind, string path)
    {
        if (root.Children.TryGetValue(new YamlScalarNode(list), out var node) && node is YamlSequenceNode seq)
            foreach (var item in seq)
                if (item is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode("name"), out var n)
                    && n is YamlScalarNode { Value: var v } && v == name
                    && m.Children.TryGetValue(new YamlScalarNode(kind), out var inner) && inner is YamlMappingNode found)
                    return found;
        throw new InvalidDataException($"{path}: {list} has no entry named '{name}'");
    }
}
