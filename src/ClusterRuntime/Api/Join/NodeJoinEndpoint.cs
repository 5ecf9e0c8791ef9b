// The join endpoints: a node sends the token's secret, its node password and a signing request, and gets its certificates.
using Appliance.Common.Pki;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Appliance.ClusterRuntime.Auth;
using Appliance.ClusterRuntime.Pki;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api.Join;

/// <summary>
/// <c>POST /v1-appliance/client-kubelet.crt</c> and <c>POST /v1-appliance/serving-kubelet.crt</c> (K3s's
/// <c>/v1-k3s/…</c>): authenticated by the node token's secret (bearer) plus the node password header. The body is a
/// PEM signing request; only its public key is used, so the node's private keys never leave it. The answer is the
/// certificate PEM followed by the issuing CA's.
/// </summary>
public sealed class NodeJoinEndpoint(NodePasswordStore passwords, PemPair clientCa, PemPair serverCa, TimeProvider clock)
{
    /// <summary>The path prefix of the join endpoints.</summary>
    public const string Prefix = "/v1-appliance/";
    /// <summary>The client certificate path (CN=system:node:NAME, O=system:nodes, signed by the client CA).</summary>
    public const string ClientPath = Prefix + "client-kubelet.crt";
    /// <summary>The kubelet serving certificate path (node name and addresses, signed by the server CA).</summary>
    public const string ServingPath = Prefix + "serving-kubelet.crt";
    /// <summary>Header naming the node.</summary>
    public const string NodeNameHeader = "Appliance-Node-Name";
    /// <summary>Header carrying the node password.</summary>
    public const string NodePasswordHeader = "Appliance-Node-Password";
    /// <summary>Header listing the node's addresses (comma-separated) for the serving certificate.</summary>
    public const string NodeIpHeader = "Appliance-Node-Ip";

    /// <summary>
    /// Validity of node certificates. Shorter than the CAs' so a leaked node key stops working; agents renew at a
    /// third of it left, and an agent whose certificate expired rejoins with the token and its password.
    /// </summary>
    public static readonly TimeSpan Validity = TimeSpan.FromDays(365);

    /// <summary>True for the paths this endpoint serves.</summary>
    public static bool Handles(string path) => path is ClientPath or ServingPath;

    /// <summary>Serves one join request from an authenticated <paramref name="user"/>.</summary>
    public async Task HandleAsync(HttpContext ctx, UserInfo user)
    {
        var path = ctx.Request.Path.Value!;
        if (ctx.Request.Method != "POST") throw ApiException.MethodNotAllowed($"the server does not allow this method on {path} ({ctx.Request.Method}); use POST");
        if (user.Name != Authorizer.JoinUser)
            throw new ApiException(403, "Forbidden", $"forbidden: User \"{user.Name}\" cannot post path \"{path}\": node certificates are issued for the node token only");
        var node = ctx.Request.Headers[NodeNameHeader].ToString();
        if (string.IsNullOrEmpty(node)) throw ApiException.BadRequest($"missing header {NodeNameHeader}");
        if ((node.Length > 200 ? "must be no more than 200 characters" : Storage.Validation.Dns1123Subdomain(node)) is { } bad)
            throw ApiException.BadRequest($"{NodeNameHeader} \"{node}\" is not a valid node name: {bad}");
        var password = ctx.Request.Headers[NodePasswordHeader].ToString();
        if (password.Length < 16) throw ApiException.BadRequest($"missing or short header {NodePasswordHeader} (at least 16 characters)");
        var key = await ReadPublicKeyAsync(ctx);
        var addresses = new List<IPAddress>();
        foreach (var text in ctx.Request.Headers[NodeIpHeader].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            addresses.Add(IPAddress.TryParse(text, out var ip) ? ip : throw ApiException.BadRequest($"{NodeIpHeader}: \"{text}\" is not an IP address"));

        await passwords.CheckOrRecordAsync(node, password, ctx.RequestAborted);
        var now = clock.GetUtcNow();
        string pem;
        if (path == ClientPath)
            pem = CertificateFactory.Sign(clientCa, $"CN=system:node:{node}, O=system:nodes", key, now, Validity, serverAuth: false, san: null) + clientCa.CertificatePem;
        else
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(node);
            foreach (var ip in addresses.Distinct()) san.AddIpAddress(ip);
            pem = CertificateFactory.Sign(serverCa, $"CN={node}", key, now, Validity, serverAuth: true, san.Build()) + serverCa.CertificatePem;
        }
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/x-pem-file";
        await ctx.Response.WriteAsync(pem, ctx.RequestAborted);
    }

    static async Task<PublicKey> ReadPublicKeyAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body);
        var body = await reader.ReadToEndAsync(ctx.RequestAborted);
        if (body.Length > 64 * 1024) throw ApiException.BadRequest("the certificate signing request is larger than 64 KiB");
        try
        {
            // Loading verifies the request's self-signature, so the sender holds the private key.
            return CertificateRequest.LoadSigningRequestPem(body, HashAlgorithmName.SHA256).PublicKey;
        }
        catch (CryptographicException e)
        {
            throw ApiException.BadRequest($"the body is not a PEM certificate signing request: {e.Message}");
        }
    }
}
