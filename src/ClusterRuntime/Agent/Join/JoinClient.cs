// Obtains the node's certificates from the join endpoints with the token's secret and the node password.
using Appliance.Common.Pki;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Appliance.ClusterRuntime.Agent.Client;
using Appliance.ClusterRuntime.Pki;

namespace Appliance.ClusterRuntime.Agent.Join;

/// <summary>
/// Asks the server (through <paramref name="http"/>, which already trusts the pinned CA) for a client or serving
/// certificate: a fresh ECDSA P-256 key is made here and only its signing request is sent.
/// </summary>
public sealed class JoinClient(HttpClient http, NodeToken token, string nodeName, string password)
{
    /// <summary>Server paths of the two certificates (Api/Join/NodeJoinEndpoint).</summary>
    public const string ClientPath = "/v1-appliance/client-kubelet.crt", ServingPath = "/v1-appliance/serving-kubelet.crt";

    /// <summary>Gets a new certificate and key from <paramref name="path"/>; <paramref name="addresses"/> go into a serving certificate.</summary>
    public async Task<PemPair> RequestAsync(string path, IEnumerable<IPAddress> addresses, CancellationToken ct)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest($"CN=system:node:{nodeName}", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent(Encoding.ASCII.GetBytes(csr)) { Headers = { ContentType = new MediaTypeHeaderValue("application/pkcs10") } },
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Secret);
        request.Headers.Add("Appliance-Node-Name", nodeName);
        request.Headers.Add("Appliance-Node-Password", password);
        request.Headers.Add("Appliance-Node-Ip", string.Join(",", addresses));
        using var response = await http.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
            throw new JoinException("the server refused the token: the token is wrong (its CA hash matches this cluster, its secret does not; copy DIR/token from a server again)");
        if (!response.IsSuccessStatusCode)
            throw new JoinException($"the server refused to issue {path}: {ApiClient.StatusMessage(response, body)}");
        var end = body.IndexOf("-----END CERTIFICATE-----", StringComparison.Ordinal);
        if (end < 0) throw new JoinException($"the server's answer to {path} holds no certificate");
        var leaf = body[..(end + "-----END CERTIFICATE-----".Length)].Trim() + "\n";
        using var check = X509Certificate2.CreateFromPem(leaf);
        if (!check.PublicKey.EncodedKeyValue.RawData.AsSpan().SequenceEqual(new PublicKey(key).EncodedKeyValue.RawData))
            throw new JoinException($"the server's answer to {path} is a certificate for another key");
        // The issuing CA that follows the leaf is kept in the file too: the kubelet API trusts callers by the client CA.
        return new PemPair(leaf + body[(end + "-----END CERTIFICATE-----".Length)..].Trim() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n");
    }
}
