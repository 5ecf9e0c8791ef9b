// The node join token: K10<sha256 hex of the server CA bundle PEM>::<user>:<secret>, as K3s writes it.
using System.Security.Cryptography;
using System.Text;

namespace Appliance.Common.Pki;

/// <summary>A K3s-format node token. The CA hash lets an agent pin the server CA it downloads from <c>/cacerts</c>.</summary>
/// <param name="CaHash">Lower-case hex SHA-256 of the server CA bundle PEM bytes.</param>
/// <param name="User">The user part (<c>server</c>).</param>
/// <param name="Secret">The shared secret; it is also accepted as a bearer token.</param>
public sealed record NodeToken(string CaHash, string User, string Secret)
{
    /// <summary>SHA-256 (hex) of the CA bundle exactly as served at <c>/cacerts</c>.</summary>
    public static string HashCa(string caBundlePem) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(caBundlePem)));

    /// <summary>A new server token for the CA bundle <paramref name="serverCaPem"/>, with a random 128-bit secret.</summary>
    public static NodeToken Create(string serverCaPem) =>
        new(HashCa(serverCaPem), "server", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));

    /// <summary>Whether this token names the CA bundle <paramref name="serverCaPem"/> (its hash is that bundle's).</summary>
    public bool Pins(string serverCaPem) => CaHash == HashCa(serverCaPem);

    /// <summary>Parses <c>K10hash::user:secret</c>.</summary>
    public static bool TryParse(string text, out NodeToken token)
    {
        token = null!;
        if (!text.StartsWith("K10", StringComparison.Ordinal)) return false;
        var sep = text.IndexOf("::", StringComparison.Ordinal);
        if (sep < 0) return false;
        var creds = text[(sep + 2)..];
        var colon = creds.IndexOf(':');
        if (colon <= 0 || colon == creds.Length - 1) return false;
        token = new NodeToken(text[3..sep], creds[..colon], creds[(colon + 1)..]);
        return token.CaHash.Length == 64;
    }

    /// <inheritdoc />
    public override string ToString() => $"K10{CaHash}::{User}:{Secret}";
}
