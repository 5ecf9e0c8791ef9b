// What of a site's secrets goes where: site.yaml's secrets document (token, a server's CA keys) and the admin kubeconfig.
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Appliance.Common.Pki;
using Appliance.ImageBuilder.Profiles;
using Appliance.ImageBuilder.Profiles.Model;

namespace Appliance.ImageBuilder.Build;

/// <summary>
/// The secrets a site's image carries and the credentials its operator gets. A server site with <c>cluster.pki</c>
/// carries the token and the cluster's identity (<see cref="ClusterPki.TlsFiles"/>); every other site only the token:
/// an agent's token pins the server CA it has never seen. Nothing here is printed; the build's other outputs hold none of it.
/// </summary>
public static class SiteSecrets
{
    /// <summary>The API port a site's server listens on (appliance-runtime's default).</summary>
    public const int ApiPort = 6443;

    /// <summary>
    /// site.yaml's second document, or null when the site has no secrets:
    /// <c>clusterToken: "K10..."</c> and, for a server site with <c>cluster.pki</c>, <c>pki:</c> mapping each file name
    /// of the runtime's <c>tls/</c> directory to its PEM text.
    /// </summary>
    public static string? Document(LoadResult loaded)
    {
        if (loaded.Secrets.ClusterToken is not { } token)
            return null;
        var sb = new StringBuilder();
        sb.Append("---\n# Secrets: moved off this partition by appliance-firstboot on the first boot.\n");
        sb.Append("clusterToken: ").Append(JsonSerializer.Serialize(token)).Append('\n');
        if (IsServer(loaded) && loaded.Secrets.Pki is { } pki)
        {
            sb.Append("pki:\n");
            foreach (var (name, pem) in pki.Pki.TlsFiles)
            {
                sb.Append("  ").Append(name).Append(": |\n");
                foreach (var line in pem.TrimEnd('\n').Split('\n'))
                    sb.Append("    ").Append(line).Append('\n');
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// The admin kubeconfig of a server site with <c>cluster.pki</c> (the admin certificate of the PKI, trusting its
    /// server CA), for <paramref name="apiServer"/> or else <see cref="DefaultApiServer"/>; null for any other site.
    /// </summary>
    /// <exception cref="UserInputException"><paramref name="apiServer"/> is given for a site that gets no kubeconfig.</exception>
    public static string? AdminKubeconfig(LoadResult loaded, Uri? apiServer, string profileFile)
    {
        if (!IsServer(loaded) || loaded.Secrets.Pki is not { } pki)
        {
            if (apiServer is not null)
                throw new UserInputException($"{profileFile}: --api-server applies to a server site with cluster.pki (its admin kubeconfig); " +
                    (IsServer(loaded) ? "this profile names no cluster.pki, so the device makes its own CA" : "this site is an agent"));
            return null;
        }
        var server = apiServer ?? DefaultApiServer(loaded.Profile!);
        return Kubeconfig.Render(server.GetLeftPart(UriPartial.Authority), pki.Pki.ServerCa, pki.Admin);
    }

    /// <summary>
    /// The site's API address from its profile: the first static address of the first interface that has one; with
    /// DHCP only, the node's host name (the serving certificate carries it), so the operator's DNS must resolve it or
    /// the build is given <c>--api-server</c>.
    /// </summary>
    public static Uri DefaultApiServer(SiteProfile profile)
    {
        var address = profile.Network.Interfaces.SelectMany(i => i.Addresses).Select(a => a.Address).FirstOrDefault();
        var host = address is null ? profile.Node.Hostname
            : address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        return new Uri($"https://{host}:{ApiPort}");
    }

    private static bool IsServer(LoadResult loaded) => loaded.Profile!.Node.Role == NodeRole.Server;
}
