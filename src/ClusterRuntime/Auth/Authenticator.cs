// Authenticates requests by client certificate (verified against the client CA) or bearer token.
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Auth;

/// <summary>An authenticated user.</summary>
/// <param name="Name">User name (the certificate CN, or the token's user).</param>
/// <param name="Groups">Groups (certificate O values).</param>
public sealed record UserInfo(string Name, IReadOnlyList<string> Groups)
{
    /// <summary>The user's UID (a ServiceAccount's), when the credential names one.</summary>
    public string? Uid { get; init; }
}

/// <summary>Checks credentials; what the user may then do is the <see cref="Authorizer"/>'s to decide.</summary>
public sealed class Authenticator : IDisposable
{
    readonly X509Certificate2 _clientCa;
    readonly Dictionary<string, UserInfo> _tokens;
    // Only verified certificates are cached, each until its NotAfter; failures are never cached, and the
    // cache is bounded, so unauthenticated clients cannot grow it and expired certificates stop working.
    const int MaxCachedCertificates = 1024;
    readonly ConcurrentDictionary<string, (UserInfo User, DateTime NotAfterUtc)> _certCache = new();

    /// <summary>Creates an authenticator trusting <paramref name="clientCaPem"/> and the given bearer tokens.</summary>
    public Authenticator(string clientCaPem, IReadOnlyDictionary<string, UserInfo> tokens)
    {
        _clientCa = X509Certificate2.CreateFromPem(clientCaPem);
        _tokens = new Dictionary<string, UserInfo>(tokens, StringComparer.Ordinal);
    }

    /// <summary>Verifies service-account tokens (JWTs) when set (<see cref="ServiceAccountTokens"/>).</summary>
    public ServiceAccountTokens? ServiceAccountTokens { get; init; }

    /// <summary>
    /// The user of the request: a certificate, a static token, or else a service-account token; always in
    /// <c>system:authenticated</c>. Null when the request carries no valid credential.
    /// </summary>
    public async ValueTask<UserInfo?> AuthenticateAsync(HttpContext context)
    {
        if (Authenticate(context) is { } user) return user;
        var header = context.Request.Headers.Authorization.ToString();
        if (ServiceAccountTokens is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return null;
        return WithAuthenticatedGroup(await ServiceAccountTokens.AuthenticateAsync(header[7..].Trim(), context.RequestAborted));
    }

    /// <summary>The user of the request by certificate or static token, in <c>system:authenticated</c>, or null when it carries neither.</summary>
    public UserInfo? Authenticate(HttpContext context) => WithAuthenticatedGroup(Find(context));

    static UserInfo? WithAuthenticatedGroup(UserInfo? user) =>
        user is null || user.Groups.Contains(AuthenticatedGroup) ? user : user with { Groups = [.. user.Groups, AuthenticatedGroup] };

    /// <summary>The group every authenticated user is in, whatever its credential says.</summary>
    public const string AuthenticatedGroup = "system:authenticated";

    UserInfo? Find(HttpContext context)
    {
        var cert = context.Connection.ClientCertificate;
        if (cert is not null)
        {
            var user = VerifyCached(cert);
            if (user is not null) return user;
        }
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = header[7..].Trim();
            foreach (var (known, user) in _tokens)
                if (CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(known), Encoding.UTF8.GetBytes(token))) return user;
        }
        return null;
    }

    UserInfo? VerifyCached(X509Certificate2 cert)
    {
        var now = DateTime.UtcNow;
        if (_certCache.TryGetValue(cert.Thumbprint, out var hit))
        {
            if (now < hit.NotAfterUtc) return hit.User;
            _certCache.TryRemove(cert.Thumbprint, out _);
        }
        var user = Verify(cert);
        if (user is null) return null;
        if (_certCache.Count >= MaxCachedCertificates) _certCache.Clear();
        _certCache[cert.Thumbprint] = (user, cert.NotAfter.ToUniversalTime());
        return user;
    }

    UserInfo? Verify(X509Certificate2 cert)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_clientCa);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        if (!chain.Build(cert)) return null;
        var root = chain.ChainElements[^1].Certificate;
        if (!root.RawDataMemory.Span.SequenceEqual(_clientCa.RawDataMemory.Span)) return null;
        string? cn = null;
        var groups = new List<string>();
        foreach (var rdn in cert.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            var oid = rdn.GetSingleElementType().Value;
            var value = rdn.GetSingleElementValue() ?? "";
            if (oid == "2.5.4.3") cn = value;
            else if (oid == "2.5.4.10") groups.Add(value);
        }
        return cn is null ? null : new UserInfo(cn, groups);
    }

    /// <inheritdoc />
    public void Dispose() => _clientCa.Dispose();
}
