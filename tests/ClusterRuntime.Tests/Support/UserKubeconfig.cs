// kubectl as any user: a client certificate for that user and groups, signed by the server's client CA.
using Appliance.Common.Pki;
using Appliance.ClusterRuntime.Pki;

namespace Appliance.ClusterRuntime.Tests.Support;

/// <summary>Makes kubeconfigs for arbitrary users of a running server (CN = user, O = each group).</summary>
public static class UserKubeconfig
{
    /// <summary>An HttpClient authenticating as <paramref name="user"/> in <paramref name="groups"/>.</summary>
    public static HttpClient Http(RuntimeProcess server, string user, params string[] groups) =>
        server.CreateClient(certificate: Certificate(server, user, groups).ToCertificate());

    static PemPair Certificate(RuntimeProcess server, string user, string[] groups)
    {
        var tls = Path.Combine(server.DataDir, "tls");
        var ca = new PemPair(File.ReadAllText(Path.Combine(tls, "client-ca.crt")), File.ReadAllText(Path.Combine(tls, "client-ca.key")));
        return CertificateFactory.CreateClient(ca, user, groups, DateTimeOffset.UtcNow);
    }

    /// <summary>kubectl authenticating as <paramref name="user"/> in <paramref name="groups"/>; files under <paramref name="dir"/>.</summary>
    public static Kubectl For(RuntimeProcess server, string dir, string user, params string[] groups)
    {
        var tls = Path.Combine(server.DataDir, "tls");
        PemPair Read(string name) => new(File.ReadAllText(Path.Combine(tls, name + ".crt")), File.ReadAllText(Path.Combine(tls, name + ".key")));
        var cert = Certificate(server, user, groups);
        var safe = user.Replace(':', '_');
        var path = Path.Combine(dir, safe + ".kubeconfig");
        File.WriteAllText(path, Kubeconfig.Render($"https://127.0.0.1:{server.Port}", Read("server-ca"), cert));
        var cache = Path.Combine(dir, safe + "-cache");
        Directory.CreateDirectory(cache);
        return new Kubectl(path, cache);
    }
}
