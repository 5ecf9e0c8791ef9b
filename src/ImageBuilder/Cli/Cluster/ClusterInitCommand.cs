// Creates a cluster PKI directory, or reports the complete one already there; never overwrites a key.
using Appliance.Common.Pki;

namespace Appliance.ImageBuilder.Cli.Cluster;

/// <summary>The logic of <c>appliance cluster init</c>. The clock is passed in so tests can pin it.</summary>
public sealed class ClusterInitCommand(CliContext ctx, Func<DateTimeOffset> now)
{
    /// <summary>Makes the PKI in <paramref name="directory"/>; returns the exit code.</summary>
    public int Run(string directory)
    {
        // A directory holding anything else is an InvalidDataException: one line, exit 2 (CliRoot).
        var (pki, created) = ClusterPkiDirectory.Create(directory, now());
        var token = pki.Pki.Token;
        ctx.Out.WriteLine(created
            ? $"{directory}: cluster PKI created (mode 0700, files 0600)"
            : $"{directory}: already holds a complete cluster PKI; nothing was changed");
        ctx.Out.WriteLine($"  server CA sha256 {token.CaHash} (the token's K10 part: agents pin it)");
        ctx.Out.WriteLine($"  node token       {Path.Combine(directory, ClusterPkiFiles.Token)}");
        ctx.Out.WriteLine($"  admin kubeconfig {Path.Combine(directory, ClusterPkiDirectory.AdminKubeconfig)} (server {ClusterPkiDirectory.PlaceholderServer}; appliance build writes NAME.kubeconfig with the site's address)");
        ctx.Out.WriteLine($"  use it: cluster.pki: {directory} (relative to the profile file)");
        return ExitCodes.Ok;
    }
}
