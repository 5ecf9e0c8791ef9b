// `appliance cluster init DIR`: the cluster verb and its arguments.
using System.CommandLine;

namespace Appliance.ImageBuilder.Cli.Cluster;

/// <summary>Defines <c>appliance cluster</c> and its subcommands.</summary>
public static class ClusterCommandDefinition
{
    /// <summary>The directory the PKI goes to.</summary>
    public static readonly Argument<string> Directory = new("DIR")
    {
        Description = "New or empty directory for the cluster's CAs, service-account key, node token and admin kubeconfig",
    };

    /// <summary>Creates the <c>cluster</c> command.</summary>
    public static Command Create(CliContext ctx)
    {
        var init = new Command("init", "Create a cluster's PKI (server and client CAs, service-account key, node token, admin kubeconfig) for cluster.pki")
        {
            Directory,
        };
        init.SetAction(parse => new ClusterInitCommand(ctx, () => DateTimeOffset.UtcNow).Run(parse.GetValue(Directory)!));
        var cluster = new Command("cluster", "Manage the cluster identity that site images carry");
        cluster.Subcommands.Add(init);
        return cluster;
    }
}
