// What loading a profile gives: the typed profile (when valid), every problem, and the secrets kept apart.
using Appliance.Common.Pki;
using Appliance.ImageBuilder.Profiles.Model;
using Appliance.ImageBuilder.Profiles.Yaml;

namespace Appliance.ImageBuilder.Profiles;

/// <summary>The outcome of <see cref="ProfileLoader.Load(string)"/>.</summary>
public sealed class LoadResult
{
    internal LoadResult(string file, SiteProfile? profile, IReadOnlyList<ProfileProblem> problems, ProfileSecrets secrets,
        IReadOnlyList<string> chain)
    {
        File = file;
        Profile = problems.Count == 0 ? profile : null;
        Problems = problems;
        Secrets = secrets;
        Chain = chain;
    }

    /// <summary>The profile file as given.</summary>
    public string File { get; }

    /// <summary>The merged, resolved profile; null when there are problems.</summary>
    public SiteProfile? Profile { get; }

    /// <summary>Every problem found, ordered by file (the given one first, then its parents), line and column.</summary>
    public IReadOnlyList<ProfileProblem> Problems { get; }

    /// <summary>True when there are no problems.</summary>
    public bool IsValid => Problems.Count == 0;

    /// <summary>The secrets met while loading, and a redactor for them.</summary>
    public ProfileSecrets Secrets { get; }

    /// <summary>The files read: the profile first, then each parent it extends.</summary>
    public IReadOnlyList<string> Chain { get; }
}

/// <summary>
/// Secret values of a loaded profile, kept apart from rendered output. The build reads
/// <see cref="ClusterToken"/>; anything printed goes through <see cref="Redactor"/>.
/// </summary>
public sealed class ProfileSecrets
{
    internal ProfileSecrets(string? clusterToken, IEnumerable<string> all, ClusterPkiDirectory? pki = null)
    {
        ClusterToken = clusterToken;
        Pki = pki;
        Values = all.Distinct(StringComparer.Ordinal).ToList();
        Redactor = new SecretRedactor(Values);
    }

    /// <summary>The cluster join token in clear (from cluster.token, tokenFile, cluster.pki, or the environment), or null.</summary>
    public string? ClusterToken { get; }

    /// <summary>The cluster PKI named by <c>cluster.pki</c>, read and checked; null without one.</summary>
    public ClusterPkiDirectory? Pki { get; }

    /// <summary>Every secret value: the token, tokenFile contents, and secret-named environment variables.</summary>
    public IReadOnlyList<string> Values { get; }

    /// <summary>Redacts <see cref="Values"/> from any text.</summary>
    public SecretRedactor Redactor { get; }
}
