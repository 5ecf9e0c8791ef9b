// Fetches the server CA bundle without trusting TLS and accepts it only when its SHA-256 is the token's K10 hash.
using Appliance.Common.Pki;
using System.Net.Security;
using Appliance.ClusterRuntime.Pki;

namespace Appliance.ClusterRuntime.Agent.Join;

/// <summary>
/// Step one of a join, as K3s does it: <c>GET /cacerts</c> over TLS that is not yet verified (the agent has nothing to
/// verify with), then the bytes are hashed and compared with the token. Nothing secret is sent before this passes.
/// </summary>
public static class CaPinning
{
    /// <summary>Returns the CA bundle PEM of <paramref name="server"/> when it matches <paramref name="token"/>; else throws <see cref="JoinException"/>.</summary>
    public static async Task<string> FetchAsync(Uri server, NodeToken token, CancellationToken ct)
    {
        using var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            // Unverified on purpose: the answer is checked against the token's hash below, and only public data is asked for.
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        string pem;
        try
        {
            using var response = await http.GetAsync(new Uri(server, "/cacerts"), ct);
            if (!response.IsSuccessStatusCode) throw new JoinException($"{server}cacerts answered {(int)response.StatusCode} {response.ReasonPhrase}; is {server} an appliance-runtime server?");
            pem = await response.Content.ReadAsStringAsync(ct);
        }
        catch (HttpRequestException e)
        {
            throw new JoinException($"cannot fetch the CA bundle from {server}: {e.Message}", e);
        }
        var hash = NodeToken.HashCa(pem);
        if (hash != token.CaHash)
            throw new JoinException($"the server's CA hash does not match the token: {server}cacerts hashes to {hash}, the token expects {token.CaHash}. " +
                "The token is from another cluster, the server's CA was rotated, or something is intercepting the connection; nothing secret was sent");
        return pem;
    }
}
