// The join: pin the CA against the token, then obtain (and later renew) the node's client and serving certificates.
using Appliance.Common.Pki;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Pki;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Join;

/// <summary>
/// Holds the node's identity. <see cref="JoinAsync"/> pins the server CA (reusing the one in DIR while it still
/// matches the token), then gets certificates that are missing, past two thirds of their life or expired, with the
/// token's secret and the node password; <see cref="RenewIfDueAsync"/> repeats the last step while the agent runs.
/// </summary>
public sealed class NodeJoiner(NodeCredentials files, ServerList servers, NodeToken token, string nodeName, IPAddress nodeIp, ILogger logger, TimeProvider clock)
{
    /// <summary>Certificate names under DIR/tls.</summary>
    public const string Client = "client-kubelet", Serving = "serving-kubelet";

    volatile X509Certificate2? _clientCertificate;
    HttpClient? _joinHttp;

    /// <summary>The pinned server CA PEM (after <see cref="JoinAsync"/>).</summary>
    public string CaPem { get; private set; } = "";

    /// <summary>The current client certificate, for new TLS connections.</summary>
    public X509Certificate2? ClientCertificate => _clientCertificate;

    /// <summary>Pins the CA and makes sure both certificates are present and fresh.</summary>
    public async Task JoinAsync(CancellationToken ct)
    {
        var stored = files.LoadServerCa();
        if (stored is not null && NodeToken.HashCa(stored) == token.CaHash) CaPem = stored;
        else
        {
            CaPem = await PinAsync(ct);
            files.SaveServerCa(CaPem);
        }
        _joinHttp = new HttpClient(new FailoverHandler(servers, ClusterHttp.Create(CaPem))) { BaseAddress = servers.Current, Timeout = TimeSpan.FromSeconds(60) };
        await RenewIfDueAsync(ct);
    }

    async Task<string> PinAsync(CancellationToken ct)
    {
        JoinException? unreachable = null;
        foreach (var server in servers.All)
        {
            try { return await CaPinning.FetchAsync(server, token, ct); }
            catch (JoinException e) when (e.InnerException is HttpRequestException) { unreachable = e; }
        }
        throw unreachable!;
    }

    /// <summary>
    /// Obtains a new client or serving certificate when the stored one is missing, due (a third of its lifetime left),
    /// or (serving) lacks the node IP. The client certificate is swapped for new connections here; the new serving
    /// certificate is returned (null when it did not change) for the kubelet API to take up.
    /// </summary>
    public async Task<PemPair?> RenewIfDueAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var join = new JoinClient(_joinHttp!, token, nodeName, files.LoadOrCreatePassword());
        var client = files.Load(Client);
        if (NodeCredentials.NeedsRenewal(client, now))
        {
            client = await join.RequestAsync(JoinClient.ClientPath, [], ct);
            files.Save(Client, client);
            logger.LogInformation("node {Node}: new client certificate (CN=system:node:{Node}) valid until {Until:u}", nodeName, nodeName, NotAfter(client));
        }
        if (_clientCertificate is null || _clientCertificate.Thumbprint != Thumbprint(client!))
            _clientCertificate = client!.ToCertificate();
        var serving = files.Load(Serving);
        if (NodeCredentials.NeedsRenewal(serving, now) || !Covers(serving!, nodeIp))
        {
            serving = await join.RequestAsync(JoinClient.ServingPath, [nodeIp], ct);
            files.Save(Serving, serving);
            logger.LogInformation("node {Node}: new kubelet serving certificate for {Ip} valid until {Until:u}", nodeName, nodeIp, NotAfter(serving));
            return serving;
        }
        return null;
    }

    static DateTime NotAfter(PemPair pair)
    {
        using var c = X509Certificate2.CreateFromPem(pair.CertificatePem);
        return c.NotAfter.ToUniversalTime();
    }

    static string Thumbprint(PemPair pair)
    {
        using var c = X509Certificate2.CreateFromPem(pair.CertificatePem);
        return c.Thumbprint;
    }

    static bool Covers(PemPair serving, IPAddress ip)
    {
        using var c = X509Certificate2.CreateFromPem(serving.CertificatePem);
        return c.Extensions.OfType<X509SubjectAlternativeNameExtension>().Any(e => e.EnumerateIPAddresses().Contains(ip));
    }
}
